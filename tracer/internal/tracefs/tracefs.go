// Package tracefs mounts the tracing filesystem where none is mounted:
// syscall tracepoints are found by their ids there, and minimal systems
// and fresh containers often boot without it.
package tracefs

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Path is where Ensure mounts tracefs.
const Path = "/sys/kernel/tracing"

// Ensure mounts tracefs at Path when no tracing directory is mounted, and
// reports whether it mounted. The error is mount(2)'s own.
func Ensure() (bool, error) {
	for _, dir := range []string{Path, "/sys/kernel/debug/tracing"} {
		// Unreadable counts as mounted: the attach will say what is wrong.
		if _, err := os.Stat(dir + "/events"); !errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	}
	if err := unix.Mount("tracefs", Path, "tracefs", 0, ""); err != nil {
		return false, err
	}
	return true, nil
}
