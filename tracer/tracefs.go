package tracer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

const tracefsPath = "/sys/kernel/tracing"

// ensureTracefs mounts tracefs when no tracing directory is mounted: syscall
// tracepoints are found by their ids there. It reports whether it mounted.
// Minimal systems and fresh containers often boot without it.
func ensureTracefs() (bool, error) {
	for _, dir := range []string{tracefsPath, "/sys/kernel/debug/tracing"} {
		// Unreadable counts as mounted: the attach will say what is wrong.
		if _, err := os.Stat(dir + "/events"); !errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	}
	if err := unix.Mount("tracefs", tracefsPath, "tracefs", 0, ""); err != nil {
		if errors.Is(err, unix.EPERM) {
			return false, mountPermissionError(err)
		}
		return false, fmt.Errorf("mount tracefs at %s: %w: %w", tracefsPath, ErrHookUnavailable, err)
	}
	return true, nil
}
