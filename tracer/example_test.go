package tracer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

// Trace namespace changes until interrupted, printing each as a JSON line.
// Open needs root (or CAP_BPF with CAP_PERFMON) and a kernel with BTF;
// the typed errors say which is missing.
func Example() {
	t, err := tracer.Open(tracer.Options{})
	switch {
	case errors.Is(err, tracer.ErrNotPermitted):
		fmt.Fprintln(os.Stderr, "run as root:", err)
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer t.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var line []byte
	err = t.Run(ctx, func(ev *event.Event) error {
		line = append(ev.AppendJSON(line[:0]), '\n')
		_, err := os.Stdout.Write(line)
		return err
	}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	s := t.Stats()
	fmt.Fprintf(os.Stderr, "%d events, %d lost\n", s.Events, s.Lost)
}

// Watch one process's network namespace changes only, and record them to
// a session file that `nstrace replay` and session.Open read.
func ExampleOpen() {
	t, err := tracer.Open(tracer.Options{Pid: 4242, Types: []event.NsType{event.Net}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer t.Close()
	for _, h := range t.Hooks() {
		if !h.Attached {
			fmt.Fprintf(os.Stderr, "%s: not watched: %v\n", h.Name, h.Err)
		}
	}

	w, err := session.Create("net.jsonl.zst", session.Options{Header: session.LocalHeader("example")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// onIdle runs when the ring is empty: a good moment to flush.
	err = t.Run(ctx, w.WriteEvent, w.Flush)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
