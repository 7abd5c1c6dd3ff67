package cli

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// startLine is what trace says once it is tracing: which calls it hooks
// and how, then one short note on what this kernel does not allow. What is
// missing is a fact about the machine, not an error: it reads as a note.
//
//	tracing started; unshare setns clone exec (tracepoint), fork (tp_btf); note: no destroy events, as this kernel does not allow fentry
func startLine(hooks []tracer.Hook) string {
	by := map[string][]string{}
	var vias, missing []string
	var why string
	for _, h := range hooks {
		if !h.Attached {
			missing = append(missing, h.Name)
			if why == "" {
				why = missingReason(h.Err)
			}
			continue
		}
		if _, ok := by[h.Via]; !ok {
			vias = append(vias, h.Via)
		}
		by[h.Via] = append(by[h.Via], h.Name)
	}
	parts := make([]string, len(vias))
	for i, via := range vias {
		parts[i] = strings.Join(by[via], " ") + " (" + via + ")"
	}
	s := "tracing started; " + strings.Join(parts, ", ")
	if len(missing) > 0 {
		s += "; note: no " + strings.Join(missing, " or ") + " events"
		if why != "" {
			s += ", as " + why
		}
	}
	return s
}

// missingReason says why a hook is missing in a few words.
func missingReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, unix.EPERM) && strings.Contains(err.Error(), "fentry"):
		return "this kernel does not allow fentry"
	case strings.Contains(err.Error(), "--hooks tracepoint"):
		return "--hooks tracepoint leaves out fentry"
	}
	return render.Sanitize(err.Error())
}
