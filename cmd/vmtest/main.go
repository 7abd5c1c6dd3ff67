// Command vmtest boots a Debian kernel under QEMU and runs one test binary
// in it, so nstrace's kernel tests run on a kernel other than the host's.
//
//	vmtest [flags] TEST-BINARY [--] [ARGS...]
//
// The kernel package is fetched with apt and cached. The guest is a
// throwaway initramfs: a small Go init (./guestinit), a static busybox,
// the test binary and any host tools named with -file, each with the
// shared libraries it links. The guest's console streams to stdout, and
// vmtest exits with the test's exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// exitStatus is a non-zero exit status of the test in the guest.
type exitStatus int

func (s exitStatus) Error() string {
	return fmt.Sprintf("test in guest exited with status %d", int(s))
}

func main() {
	err := run()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
	var status exitStatus
	if errors.As(err, &status) {
		os.Exit(int(status))
	}
	os.Exit(1)
}

func run() error {
	var (
		files   fileFlags
		envs    multiFlag
		release = flag.String("kernel-version", "", "Debian kernel release to boot, e.g. 6.1.0-56-amd64 (default: the one linux-image-amd64 depends on)")
		kernel  = flag.String("kernel", "", "boot this kernel image instead of a Debian package")
		cache   = flag.String("cache", defaultCacheDir(), "directory caching downloaded kernels")
		timeout = flag.Duration("timeout", 8*time.Minute, "kill the guest after this long")
		mem     = flag.String("mem", "1G", "guest memory (QEMU -m)")
		cpus    = flag.Int("smp", 2, "guest CPUs")
		accel   = flag.String("accel", "tcg", "QEMU accelerator: tcg, or kvm where KVM really works (a /dev/kvm that fails emulation hangs the guest)")
		cmdline = flag.String("append", "", "extra kernel command line")
		initBin = flag.String("init", "", "prebuilt guest init (default: build ./cmd/vmtest/guestinit)")
	)
	flag.Var(&files, "file", "copy `HOST[:GUEST]` into the guest with the shared libraries it needs; a HOST without / is looked up in PATH; GUEST defaults to /bin/BASENAME; repeatable")
	flag.Var(&envs, "env", "add `KEY=VALUE` to the test's environment; repeatable")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vmtest [flags] TEST-BINARY [--] [ARGS...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	test, args, err := splitArgs(flag.Args())
	if err != nil {
		flag.Usage()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	busybox, err := ensureHostTools()
	if err != nil {
		return err
	}
	if *kernel == "" {
		if *kernel, err = debianKernel(*release, *cache); err != nil {
			return err
		}
	}

	tmp, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *initBin == "" {
		*initBin = filepath.Join(tmp, "init")
		if err := buildInit(*initBin); err != nil {
			return err
		}
	}

	env := append([]string{
		"NSTRACE_KERNEL_TESTS=1",
		"NSTRACE_VM=1",
		"PATH=/bin:/usr/bin:/sbin:/usr/sbin",
		"HOME=/tmp",
	}, envs...)
	initrd := filepath.Join(tmp, "initramfs.cpio")
	start := time.Now()
	if err := buildInitramfs(initrd, initramfs{
		init:    *initBin,
		busybox: busybox,
		test:    test,
		args:    args,
		env:     env,
		files:   files,
	}); err != nil {
		return err
	}
	fmt.Printf("vmtest: initramfs built in %v\n", time.Since(start).Round(time.Millisecond))

	return boot(ctx, machine{
		kernel:  *kernel,
		initrd:  initrd,
		mem:     *mem,
		cpus:    *cpus,
		accel:   *accel,
		cmdline: *cmdline,
		timeout: *timeout,
	})
}

// splitArgs takes the test binary and its arguments from the positional
// arguments, dropping a "--" between the two.
func splitArgs(args []string) (test string, rest []string, err error) {
	if len(args) == 0 {
		return "", nil, errors.New("no test binary given")
	}
	test, rest = args[0], args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	return test, rest, nil
}

func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "nstrace-vmtest")
}

// multiFlag collects every use of a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// guestFile is a host file copied into the guest.
type guestFile struct{ host, guest string }

// fileFlags collects -file HOST[:GUEST].
type fileFlags []guestFile

func (f *fileFlags) String() string { return fmt.Sprint(*f) }

func (f *fileFlags) Set(v string) error {
	host, guest, _ := strings.Cut(v, ":")
	if host == "" {
		return errors.New("empty host path")
	}
	if !strings.Contains(host, "/") {
		// A bare name is a host command, so callers need not know where
		// each distribution keeps it.
		path, err := exec.LookPath(host)
		if err != nil {
			return err
		}
		host = path
	}
	if guest == "" {
		guest = "/bin/" + filepath.Base(host)
	}
	if !filepath.IsAbs(guest) {
		return fmt.Errorf("guest path %q is not absolute", guest)
	}
	*f = append(*f, guestFile{host: host, guest: filepath.Clean(guest)})
	return nil
}
