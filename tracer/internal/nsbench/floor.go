package nsbench

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/nstrace/nstrace/gen"
)

// floorCommand is the hidden subcommand that holds the floor's programs.
const floorCommand = "floor"

// The floor is what hooking the same places costs with programs that do
// nothing: the part of a ratio no BPF code can remove. Its programs are
// built from nstrace's own object, one per program, with the body replaced
// by `return 0`, so the attach points can't drift from what nstrace uses.
func floorTracer(self, hooks string) tracer {
	t := tracer{Name: "floor", Title: "floor", parse: parseNothing, floor: true}
	t.start = func(dir string) (*session, error) {
		ready := filepath.Join(dir, "floor.ready")
		events := filepath.Join(dir, "floor.events") // stays empty
		if err := os.Remove(ready); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err := os.WriteFile(events, nil, 0o600); err != nil {
			return nil, err
		}
		cmd := exec.Command(self, floorCommand, "-hooks", hooks, "-ready", ready)
		return startSession(cmd, events, fileExists(ready))
	}
	t.lost = func(*session) (summary, error) { return summary{}, nil }
	return t
}

func parseNothing([]byte) (eventLine, bool) { return eventLine{}, false }

// runFloor attaches empty programs where the chosen hook set attaches
// nstrace's, writes the ready file and waits for SIGINT or SIGTERM.
func runFloor(args []string) error {
	fs := flag.NewFlagSet(floorCommand, flag.ContinueOnError)
	hooks := fs.String("hooks", "auto", "auto (fentry where it loads, else tracepoints), tracepoint or fentry")
	ready := fs.String("ready", "", "file to create once attached")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if err := rlimit.RemoveMemlock(); err != nil {
		return err
	}
	spec, err := gen.LoadNstrace()
	if err != nil {
		return err
	}
	links, err := attachFloor(spec, *hooks)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	if err := os.WriteFile(*ready, fmt.Appendf(nil, "%d\n", len(links)), 0o600); err != nil {
		return err
	}
	<-stop
	return nil
}

// attachFloor attaches the empty programs of one hook set. With auto, the
// fentry set is tried first and the tracepoint set used when the kernel
// refuses it, as nstrace does on kernels without fentry.
func attachFloor(spec *ebpf.CollectionSpec, hooks string) ([]link.Link, error) {
	fentry := []string{"fentry/", "fexit/", "tp_btf/"}
	tracepoint := []string{"tracepoint/", "tp_btf/"}
	switch hooks {
	case "fentry":
		return attachEmpty(spec, fentry)
	case "tracepoint":
		return attachEmpty(spec, tracepoint)
	case "auto":
		links, err := attachEmpty(spec, fentry)
		if err == nil {
			return links, nil
		}
		return attachEmpty(spec, tracepoint)
	}
	return nil, fmt.Errorf("-hooks %q: want auto, tracepoint or fentry", hooks)
}

// attachEmpty loads and attaches an empty twin of every program whose
// section starts with one of prefixes; all or none.
func attachEmpty(spec *ebpf.CollectionSpec, prefixes []string) ([]link.Link, error) {
	var links []link.Link
	fail := func(err error) ([]link.Link, error) {
		for _, l := range links {
			l.Close()
		}
		return nil, err
	}
	for _, name := range sortedPrograms(spec) {
		ps := spec.Programs[name]
		if !hasAnyPrefix(ps.SectionName, prefixes) {
			continue
		}
		l, err := attachEmptyTwin(ps)
		if err != nil {
			return fail(fmt.Errorf("empty twin of %s (%s): %w", name, ps.SectionName, err))
		}
		links = append(links, l)
	}
	if len(links) == 0 {
		return nil, errors.New("no program matches the hook set")
	}
	return links, nil
}

func attachEmptyTwin(ps *ebpf.ProgramSpec) (link.Link, error) {
	twin := &ebpf.ProgramSpec{
		Name:         ps.Name,
		Type:         ps.Type,
		AttachType:   ps.AttachType,
		AttachTo:     ps.AttachTo,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}
	prog, err := ebpf.NewProgram(twin)
	if err != nil {
		return nil, err
	}
	defer prog.Close() // the link holds its own reference
	if group, name, ok := strings.Cut(strings.TrimPrefix(ps.SectionName, "tracepoint/"), "/"); ok && ps.Type == ebpf.TracePoint {
		return link.Tracepoint(group, name, prog, nil)
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// sortedPrograms: attach order changes no cost; a fixed one keeps errors stable.
func sortedPrograms(spec *ebpf.CollectionSpec) []string {
	return slices.Sorted(maps.Keys(spec.Programs))
}
