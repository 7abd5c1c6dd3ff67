package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ensureHostTools makes sure QEMU and a static busybox are installed,
// installing them with apt-get when running as root, and returns the
// path of busybox.
func ensureHostTools(a arch) (busybox string, err error) {
	busybox, missing := findTools(a)
	if len(missing) == 0 {
		return busybox, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("missing %s; install with: apt-get install --no-install-recommends %s",
			strings.Join(missing, " and "), strings.Join(missing, " "))
	}
	fmt.Printf("vmtest: installing %s\n", strings.Join(missing, " "))
	if err := aptGet(append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)...); err != nil {
		// A fresh machine may have no package lists yet.
		if err := aptGet("update"); err != nil {
			return "", err
		}
		if err := aptGet(append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)...); err != nil {
			return "", err
		}
	}
	busybox, missing = findTools(a)
	if len(missing) > 0 {
		return "", fmt.Errorf("still missing %s after apt-get install", strings.Join(missing, " "))
	}
	return busybox, nil
}

// findTools returns the static busybox and the Debian packages still
// needed. A dynamically linked busybox is no use: the guest has no libc.
func findTools(a arch) (busybox string, missing []string) {
	if _, err := exec.LookPath(a.qemu); err != nil {
		missing = append(missing, a.qemuPkg)
	}
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if static, err := isStatic(p); err == nil && static {
			return p, missing
		}
	}
	return "", append(missing, "busybox-static")
}

func aptGet(args ...string) error {
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get %s: %w", args[0], err)
	}
	return nil
}
