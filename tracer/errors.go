package tracer

import "errors"

// Typed errors for environments nstrace cannot trace in. Check them with
// errors.Is; the wrapped message says what exactly was missing.
var (
	// ErrNotPermitted: the process lacks CAP_BPF and CAP_PERFMON (or root).
	ErrNotPermitted = errors.New("not permitted")
	// ErrNoBTF: the kernel exposes no BTF at /sys/kernel/btf/vmlinux.
	ErrNoBTF = errors.New("kernel BTF missing")
	// ErrHookUnavailable: a required probe point is missing from this kernel.
	ErrHookUnavailable = errors.New("hook unavailable")
)
