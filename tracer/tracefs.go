package tracer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/tracefs"
)

// ensureTracefs mounts tracefs when no tracing directory is mounted
// (tracefs.Ensure), with the errors a user acts on. It reports whether it
// mounted.
func ensureTracefs() (bool, error) {
	mounted, err := tracefs.Ensure()
	if err == nil {
		return mounted, nil
	}
	if errors.Is(err, unix.EPERM) {
		return false, mountPermissionError(err)
	}
	return false, fmt.Errorf("mount tracefs at %s: %w: %w", tracefs.Path, ErrHookUnavailable, err)
}
