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
//
// With -arch naming another architecture than the host's (arm64 on an
// amd64 host), the kernel, busybox and the tools -file names come from
// that architecture's Debian packages, downloaded with a private apt root
// into the cache and unpacked there: nothing is installed on the host.
// The test binary must then be built for that architecture (GOARCH).
//
//	vmtest -btf FILE [-arch ARCH]
//
// writes the kernel's BTF to FILE instead, for bpftool to turn into the
// vmlinux.h that the BPF programs of that architecture compile against.
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
	"runtime"
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
	o := parseOptions()
	a, err := lookupArch(o.arch)
	if err != nil {
		return err
	}
	if o.btfOut != "" {
		return writeKernelBTF(a, o.kernel, o.release, o.cache, o.btfOut)
	}
	test, args, err := splitArgs(flag.Args())
	if err != nil {
		flag.Usage()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tools, err := findGuestTools(a, o.cache, o.files)
	if err != nil {
		return err
	}
	if o.kernel == "" {
		if o.kernel, err = debianKernel(a, o.release, o.cache); err != nil {
			return err
		}
	}

	tmp, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	initrd, err := o.buildGuest(tmp, a, tools, test, args)
	if err != nil {
		return err
	}
	return boot(ctx, o.machine(a, initrd))
}

// options are vmtest's command-line settings.
type options struct {
	files   fileFlags
	trees   fileFlags
	envs    multiFlag
	arch    string
	release string
	btfOut  string
	kernel  string
	cache   string
	timeout time.Duration
	mem     string
	cpus    int
	accel   string
	cmdline string
	initBin string
}

// parseOptions registers vmtest's flags on the command line and parses it.
func parseOptions() *options {
	o := &options{}
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "guest architecture: amd64 or arm64")
	flag.StringVar(&o.release, "kernel-version", "", "Debian kernel release to boot, e.g. 6.1.0-56-amd64 (default: the one linux-image-ARCH depends on)")
	flag.StringVar(&o.btfOut, "btf", "", "write the kernel's BTF to `FILE` and exit, booting nothing")
	flag.StringVar(&o.kernel, "kernel", "", "boot this kernel image instead of a Debian package")
	flag.StringVar(&o.cache, "cache", defaultCacheDir(), "directory caching downloaded kernels")
	flag.DurationVar(&o.timeout, "timeout", 8*time.Minute, "kill the guest after this long")
	flag.StringVar(&o.mem, "mem", "1G", "guest memory (QEMU -m)")
	flag.IntVar(&o.cpus, "smp", 2, "guest CPUs")
	flag.StringVar(&o.accel, "accel", "tcg", "QEMU accelerator: tcg, or kvm where KVM really works (a /dev/kvm that fails emulation hangs the guest)")
	flag.StringVar(&o.cmdline, "append", "", "extra kernel command line")
	flag.StringVar(&o.initBin, "init", "", "prebuilt guest init (default: build ./cmd/vmtest/guestinit)")
	flag.Var(&o.files, "file", "copy `HOST[:GUEST]` into the guest with the shared libraries it needs; a HOST without / is looked up in PATH (for a foreign -arch, in its Debian packages); GUEST defaults to /bin/BASENAME; repeatable")
	flag.Var(&o.trees, "dir", "copy the host directory `HOST:GUEST` into the guest whole, symbolic links as they are; repeatable")
	flag.Var(&o.envs, "env", "add `KEY=VALUE` to the test's environment; repeatable")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vmtest [flags] TEST-BINARY [--] [ARGS...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	return o
}

// guestEnv is the test's environment: what every kernel test in the guest
// needs, then the -env settings.
func (o *options) guestEnv() []string {
	return append([]string{
		"NSTRACE_KERNEL_TESTS=1",
		"NSTRACE_VM=1",
		"PATH=/bin:/usr/bin:/sbin:/usr/sbin",
		"HOME=/tmp",
	}, o.envs...)
}

// machine is the QEMU guest the options describe, booting initrd.
func (o *options) machine(a arch, initrd string) machine {
	return machine{
		arch:    a,
		kernel:  o.kernel,
		initrd:  initrd,
		mem:     o.mem,
		cpus:    o.cpus,
		accel:   o.accel,
		cmdline: o.cmdline,
		timeout: o.timeout,
	}
}

// guestTools are where the guest's busybox and other tools come from.
type guestTools struct {
	busybox string     // the busybox copied into the guest
	applets string     // a host-runnable busybox to list the applets with
	root    *guestRoot // the foreign architecture's packages; nil when native
}

// findGuestTools finds the busybox for the guest and resolves each bare
// -file command name. A native guest takes them from the host; a foreign
// one from its architecture's Debian packages, while the applet list still
// comes from the host's busybox, which can run here.
func findGuestTools(a arch, cache string, files fileFlags) (guestTools, error) {
	hostBusybox, err := ensureHostTools(a)
	if err != nil {
		return guestTools{}, err
	}
	t := guestTools{busybox: hostBusybox, applets: hostBusybox}
	lookTool := lookHostTool
	if !a.native() {
		r, err := makeGuestRoot(a, cache, guestPackages)
		if err != nil {
			return guestTools{}, err
		}
		t.root, lookTool = &r, r.lookTool
		bb, err := r.lookTool("busybox")
		if err != nil {
			return guestTools{}, err
		}
		t.busybox = bb.host
	}
	if err := files.resolve(lookTool); err != nil {
		return guestTools{}, err
	}
	return t, nil
}

// buildGuest builds the guest's initramfs in tmp, with its init, tools
// and the test, and gives its path.
func (o *options) buildGuest(tmp string, a arch, tools guestTools, test string, args []string) (string, error) {
	initBin, err := guestInit(o.initBin, tmp, a)
	if err != nil {
		return "", err
	}
	initrd := filepath.Join(tmp, "initramfs.cpio")
	if err := timedInitramfs(initrd, initramfs{
		init:    initBin,
		busybox: tools.busybox,
		applets: tools.applets,
		test:    test,
		args:    args,
		env:     o.guestEnv(),
		files:   o.files,
		trees:   o.trees,
		root:    tools.root,
	}); err != nil {
		return "", err
	}
	return initrd, nil
}

// guestInit is the prebuilt init given with -init, or one built into tmp.
func guestInit(prebuilt, tmp string, a arch) (string, error) {
	if prebuilt != "" {
		return prebuilt, nil
	}
	bin := filepath.Join(tmp, "init")
	if err := buildInit(bin, a); err != nil {
		return "", err
	}
	return bin, nil
}

// timedInitramfs builds the initramfs and prints how long that took, the
// host-side share of a run's time before the guest boots.
func timedInitramfs(dst string, r initramfs) error {
	start := time.Now()
	if err := buildInitramfs(dst, r); err != nil {
		return err
	}
	fmt.Printf("vmtest: initramfs built in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
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

// fileFlags collects -file HOST[:GUEST]. A bare HOST name is a command,
// found by resolve once the guest's architecture is known.
type fileFlags []guestFile

func (f *fileFlags) String() string { return fmt.Sprint(*f) }

func (f *fileFlags) Set(v string) error {
	host, guest, _ := strings.Cut(v, ":")
	if host == "" {
		return errors.New("empty host path")
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

// lookHostTool finds a command in the host's PATH.
func lookHostTool(name string) (guestFile, error) {
	host, err := exec.LookPath(name)
	return guestFile{host: host}, err
}

// resolve replaces each bare command name with the file look finds for it,
// so callers need not know where each distribution keeps a command.
func (f fileFlags) resolve(look func(name string) (guestFile, error)) error {
	for i, g := range f {
		if strings.Contains(g.host, "/") {
			continue
		}
		found, err := look(g.host)
		if err != nil {
			return fmt.Errorf("-file %s: %w", g.host, err)
		}
		f[i].host = found.host
	}
	return nil
}
