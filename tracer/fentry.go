package tracer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// dropUnusableFentry removes from spec the fentry/fexit programs this kernel
// cannot run: all of them when it refuses fentry (this is decided by loading
// a do-nothing probe), and those whose target function is missing from the
// kernel's BTF (inlined, static, or renamed like .isra clones). It returns
// nil if at least one remains.
func dropUnusableFentry(spec *ebpf.CollectionSpec, cache *btf.Cache) error {
	if err := probeFentry(cache); err != nil {
		dropFentry(spec, nil)
		if errors.Is(err, os.ErrPermission) {
			// cilium/ebpf suggests MEMLOCK here; the kernel simply says no.
			return fmt.Errorf("kernel refuses fentry (%w)", unix.EPERM)
		}
		return fmt.Errorf("kernel refuses fentry: %w", err)
	}
	kernel, err := cache.Kernel()
	if err != nil {
		dropFentry(spec, nil)
		return fmt.Errorf("kernel BTF: %w", err)
	}
	dropFentry(spec, func(target string) bool {
		var fn *btf.Func
		return kernel.TypeByName(target, &fn) != nil
	})
	for _, p := range spec.Programs {
		if isFentry(p) {
			return nil
		}
	}
	return errors.New("no fentry target function found in kernel BTF")
}

// dropFentry removes fentry/fexit programs; all of them when missing is nil,
// else those for whose target it says true.
func dropFentry(spec *ebpf.CollectionSpec, missing func(target string) bool) {
	for name, p := range spec.Programs {
		if isFentry(p) && (missing == nil || missing(p.AttachTo)) {
			delete(spec.Programs, name)
		}
	}
}

func isFentry(p *ebpf.ProgramSpec) bool {
	return p.Type == ebpf.Tracing && (p.AttachType == ebpf.AttachTraceFEntry || p.AttachType == ebpf.AttachTraceFExit) &&
		!strings.HasPrefix(p.SectionName, "tp_btf")
}

// probeFentry loads and attaches a do-nothing fentry program on a function
// every kernel with namespaces has. Some kernels (lockdown) refuse the load;
// some load it but cannot attach it to a kernel function: arm64 kernels
// without ftrace direct calls, such as Debian 12's 6.1. The kernel's types
// (to find the target) come from cache.
func probeFentry(cache *btf.Cache) error {
	spec := &ebpf.CollectionSpec{Programs: map[string]*ebpf.ProgramSpec{"probe": {
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceFEntry,
		AttachTo:     "ksys_unshare",
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}}}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return err
	}
	defer coll.Close()
	prog := coll.Programs["probe"]
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return l.Close()
}
