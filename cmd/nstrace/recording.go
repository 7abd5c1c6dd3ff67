package main

import (
	"fmt"

	"github.com/nstrace/nstrace/tracer/filter"
	"github.com/nstrace/nstrace/tracer/render"
	"github.com/nstrace/nstrace/tracer/resolve"
	"github.com/nstrace/nstrace/tracer/session"
)

// recording is a session opened for replay or report: its reader and paths,
// the filter options with the --since/--until window placed from its start,
// and a resolver built from its inventory.
type recording struct {
	r     *session.Reader
	paths []string
	opts  filter.Options
	res   *resolve.Resolver
}

// openRecording opens the files args name (globs, "-"); verb ("replay",
// "report") starts its error messages. The caller closes r.
func openRecording(verb string, args []string, opts filter.Options, since, until string) (*recording, error) {
	from, to, err := parseWindow(since, until)
	if err != nil {
		return nil, err
	}
	paths, err := expandPaths(args)
	if err != nil {
		return nil, err
	}
	r, err := session.Open(paths...)
	if err != nil {
		return nil, fmt.Errorf("%s %w", verb, err)
	}
	first := r.First()
	if since != "" {
		opts.Since = from.At(first.Started)
	}
	if until != "" {
		opts.Until = to.At(first.Started)
	}
	res, err := replayResolver(first)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%s %s: %w", verb, render.Sanitize(paths[0]), err)
	}
	return &recording{r: r, paths: paths, opts: opts, res: res}, nil
}

// replayResolver resolves from the inventory a session was recorded with,
// never looking at this machine: replay labels as the live run did.
func replayResolver(h *session.Header) (*resolve.Resolver, error) {
	var inv resolve.Inventory
	ok, err := h.DecodeInventory(&inv)
	if err != nil {
		return nil, err
	}
	if !ok {
		return resolve.New(nil, resolve.WithoutLiveLookups()), nil
	}
	return resolve.New(&inv, resolve.WithoutLiveLookups()), nil
}

// parseWindow reads --since and --until; they are placed once the
// recording's start is known.
func parseWindow(since, until string) (s, u filter.Moment, err error) {
	if since != "" {
		if s, err = filter.ParseMoment(since); err != nil {
			return s, u, usageError{fmt.Errorf("--since: %w", err)}
		}
	}
	if until != "" {
		if u, err = filter.ParseMoment(until); err != nil {
			return s, u, usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	return s, u, nil
}
