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
package tracer
