package main

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
)

// arch is what differs between the guest architectures vmtest boots.
type arch struct {
	name    string   // Debian's and Go's name: amd64, arm64
	qemu    string   // the emulator
	qemuPkg string   // the Debian package holding it
	machine []string // QEMU machine options
	cpu     string   // QEMU -cpu
	console string   // the serial console's device in the guest
	libDir  string   // the multiarch library directory, for the sysroot's loader
}

var arches = map[string]arch{
	"amd64": {name: "amd64", qemu: "qemu-system-x86_64", qemuPkg: "qemu-system-x86",
		cpu: "max", console: "ttyS0", libDir: "x86_64-linux-gnu"},
	// virt is QEMU's generic board: a PL011 serial port, PSCI to power off,
	// and no firmware needed to boot a Linux Image with -kernel. Debian's
	// kernel signs return addresses (pointer authentication): emulating
	// the architected algorithm (QARMA) costs more than everything else,
	// so the CPU uses QEMU's cheap implementation-defined one.
	"arm64": {name: "arm64", qemu: "qemu-system-aarch64", qemuPkg: "qemu-system-arm",
		machine: []string{"-M", "virt"}, cpu: "max,pauth-impdef=on", console: "ttyAMA0", libDir: "aarch64-linux-gnu"},
}

// lookupArch returns the architecture of a Debian name.
func lookupArch(name string) (arch, error) {
	a, ok := arches[name]
	if !ok {
		names := make([]string, 0, len(arches))
		for n := range arches {
			names = append(names, n)
		}
		sort.Strings(names)
		return arch{}, fmt.Errorf("unknown architecture %q (have %s)", name, strings.Join(names, ", "))
	}
	return a, nil
}

// native reports whether the guest runs this machine's binaries, so that
// host tools and their libraries can go into it.
func (a arch) native() bool { return a.name == runtime.GOARCH }
