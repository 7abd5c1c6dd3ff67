// Package tracer loads nstrace's BPF programs, attaches them, and delivers
// the namespace events they report as event.Event values.
//
// It prints nothing: callers (the CLI, tests, other programs) decide what to
// do with events, losses and the hook report.
//
//	t, err := tracer.Open(tracer.Options{})
//	...
//	defer t.Close()
//	err = t.Run(ctx, func(ev *event.Event) error { ...; return nil }, nil)
//
// Other Go programs use nstrace through three packages: this one, which
// traces (it needs root, or CAP_BPF and CAP_PERFMON, and a kernel with
// BTF); [github.com/nstrace/nstrace/tracer/event], the event model and its
// JSON form; and [github.com/nstrace/nstrace/tracer/session], which writes
// and reads the session files that `nstrace trace -w` records. Everything
// else in the module is internal to the nstrace command.
package tracer
