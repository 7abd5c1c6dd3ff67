package tracer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/tracefs"
)

// Typed errors for environments nstrace cannot trace in. Check them with
// errors.Is; the wrapped message says what exactly was missing.
var (
	// ErrNotPermitted: the process lacks a capability tracing needs
	// (caps.Trace) and is not root; the message names it.
	ErrNotPermitted = errors.New("not permitted")
	// ErrNoBTF: the kernel exposes no BTF at /sys/kernel/btf/vmlinux.
	ErrNoBTF = errors.New("kernel BTF missing")
	// ErrHookUnavailable: a required probe point is missing from this kernel.
	ErrHookUnavailable = errors.New("hook unavailable")
)

// permissionError wraps err, from a step that needs the capabilities need,
// as ErrNotPermitted naming those the process lacks when the kernel refused
// it, or as is otherwise.
func permissionError(what string, err error, need []caps.Cap) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%s: %w: %s (%v)", what, ErrNotPermitted, caps.Advice(need, "tracing", caps.Trace), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// attachNeeds is what an attach that failed with err needed: reading a
// tracepoint's id in tracefs (root's, mode 0700) needs CAP_DAC_READ_SEARCH
// of a non-root user; the perf event and the link need CAP_BPF and
// CAP_PERFMON.
func attachNeeds(err error) []caps.Cap {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Path, "/sys/kernel/") {
		return []caps.Cap{caps.DACReadSearch}
	}
	return []caps.Cap{caps.BPF, caps.Perfmon}
}

// mountPermissionError is the refusal to mount tracefs where none was.
func mountPermissionError(err error) error {
	return fmt.Errorf("mount tracefs at %s: %w: %s (%v)", tracefs.Path, ErrNotPermitted,
		caps.Advice([]caps.Cap{caps.SysAdmin}, "mounting tracefs", []caps.Cap{caps.SysAdmin}), err)
}
