package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// aptRoot is apt state of its own for one foreign architecture, kept in the
// cache: that architecture's package lists, read from the host's sources,
// and an empty dpkg status, so that a download takes every dependency and
// nothing is installed on the host or added to its dpkg architectures.
type aptRoot struct {
	dir  string
	arch string
}

func newAptRoot(cache, arch string) (aptRoot, error) {
	r := aptRoot{dir: filepath.Join(cache, "apt-"+arch), arch: arch}
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			return r, err
		}
	}
	status := filepath.Join(r.dir, "status")
	if _, err := os.Stat(status); err != nil {
		if err := os.WriteFile(status, nil, 0o644); err != nil {
			return r, err
		}
	}
	return r, nil
}

// options point apt at this root instead of the host's state.
func (r aptRoot) options() []string {
	opts := []string{"-qq",
		"-o", "APT::Architecture=" + r.arch,
		"-o", "APT::Architectures=" + r.arch,
		"-o", "Dir::State::Lists=" + filepath.Join(r.dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(r.dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(r.dir, "cache"),
		// The locks guard the host's dpkg database, which is not used.
		"-o", "Debug::NoLocking=true",
	}
	if os.Geteuid() == 0 {
		// apt's _apt user cannot write into root's private cache.
		opts = append(opts, "-o", "APT::Sandbox::User=root")
	}
	return opts
}

// update refreshes the root's package lists from the host's sources.
func (r aptRoot) update() error {
	fmt.Printf("vmtest: reading the %s package lists\n", r.arch)
	return r.run("", "apt-get", "update")
}

// run runs an apt command in dir with the root's options.
func (r aptRoot) run(dir, tool string, args ...string) error {
	cmd := exec.Command(tool, append(r.options(), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s (%s): %w", tool, args[0], r.arch, err)
	}
	return nil
}

// output runs an apt query with the root's options.
func (r aptRoot) output(tool string, args ...string) (string, error) {
	out, err := exec.Command(tool, append(r.options(), args...)...).Output()
	return string(out), err
}
