package tracer

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/nstrace/nstrace/gen"
)

// Hook sets a Tracer can use (Options.Hooks).
const (
	HooksAuto       = "auto"       // fentry where the kernel allows, else tracepoints, per hook
	HooksTracepoint = "tracepoint" // the portable syscall tracepoints only
	HooksFentry     = "fentry"     // fentry/fexit only: fail if the kernel refuses
)

// Hook is one thing nstrace watches and how it ended up watching it.
type Hook struct {
	Name     string // unshare, setns, clone, exec, fork, destroy
	Via      string // fentry, tracepoint or tp_btf; empty when not attached
	Required bool   // without it nstrace cannot do its job
	Attached bool
	Err      error // why it is missing, or why fentry fell back
}

// probe is one program and where it attaches.
type probe struct {
	prog   string // program name in the collection
	group  string // tracepoint group; empty for tp_btf, fentry and fexit
	target string // tracepoint name or kernel function
}

// hookDef lists the programs that implement a hook in each set.
type hookDef struct {
	name       string
	required   bool
	fentry     []probe // fentry/fexit programs; empty if the set has none
	tracepoint []probe // syscall tracepoints (or tp_btf) for the portable set
	fallback   []probe // tried when tracepoint's do not attach
}

func sysTP(prog, name string) probe { return probe{prog: prog, group: "syscalls", target: name} }

func fn(prog, target string) probe { return probe{prog: prog, target: target} }

var hookDefs = []hookDef{
	{name: "unshare", required: true,
		fentry:     []probe{fn(gen.NstraceProgUnshareFentry, "ksys_unshare"), fn(gen.NstraceProgUnshareFexit, "ksys_unshare")},
		tracepoint: []probe{sysTP(gen.NstraceProgUnshareEnter, "sys_enter_unshare"), sysTP(gen.NstraceProgUnshareExit, "sys_exit_unshare")}},
	{name: "setns", required: true,
		fentry:     []probe{fn(gen.NstraceProgSetnsFentry, setnsWrapper), fn(gen.NstraceProgSetnsFexit, setnsWrapper)},
		tracepoint: []probe{sysTP(gen.NstraceProgSetnsEnter, "sys_enter_setns"), sysTP(gen.NstraceProgSetnsExit, "sys_exit_setns")}},
	{name: "fork", required: true,
		tracepoint: []probe{{prog: gen.NstraceProgFork, target: "sched_process_fork"}}},
	// Without these nstrace still sees every new task's namespaces; it loses
	// clone flags, failed clones and time switches by exec.
	{name: "clone",
		fentry: []probe{fn(gen.NstraceProgCloneFentry, "kernel_clone"), fn(gen.NstraceProgCloneFexit, "kernel_clone")},
		tracepoint: []probe{sysTP(gen.NstraceProgCloneEnter, "sys_enter_clone"), sysTP(gen.NstraceProgCloneExit, "sys_exit_clone"),
			sysTP(gen.NstraceProgClone3Enter, "sys_enter_clone3"), sysTP(gen.NstraceProgClone3Exit, "sys_exit_clone3")}},
	{name: "exec",
		fentry: []probe{fn(gen.NstraceProgExecFentry, "begin_new_exec"), fn(gen.NstraceProgExecFexit, "begin_new_exec")},
		tracepoint: []probe{sysTP(gen.NstraceProgExecveEnter, "sys_enter_execve"), sysTP(gen.NstraceProgExecveExit, "sys_exit_execve"),
			sysTP(gen.NstraceProgExecveatEnter, "sys_enter_execveat"), sysTP(gen.NstraceProgExecveatExit, "sys_exit_execveat")}},
	// Which path each exec was started by (exe_arg); without it events
	// still carry exe, args and ancestry, read when they happen.
	{name: "procexec",
		tracepoint: []probe{{prog: gen.NstraceProgProcExec, target: "sched_process_exec"}},
		fallback:   []probe{{prog: gen.NstraceProgProcExecTp, group: "sched", target: "sched_process_exec"}}},
	// Only a kernel function sees a namespace die: no tracepoint fallback.
	{name: "destroy",
		fentry: []probe{fn(gen.NstraceProgDestroyFentry, "proc_free_inum")}},
}

func (p probe) String() string {
	switch {
	case p.group != "":
		return "tracepoint/" + p.group + "/" + p.target
	case strings.HasSuffix(p.prog, "_fentry"):
		return "fentry/" + p.target
	case strings.HasSuffix(p.prog, "_fexit"):
		return "fexit/" + p.target
	}
	return "tp_btf/" + p.target
}

func (p probe) attach(coll *ebpf.Collection) (link.Link, error) {
	prog := coll.Programs[p.prog]
	if prog == nil {
		return nil, fmt.Errorf("%s: %w: program not loaded", p, ErrHookUnavailable)
	}
	if p.group != "" {
		return link.Tracepoint(p.group, p.target, prog, nil)
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}

// fentryFallbacks names the tracepoint programs of the hooks whose every
// fentry program hasProgram: with those loaded, the tracepoints are
// attached only where fentry does not attach, and need not be loaded
// until then. Hooks without an fentry form keep theirs.
func fentryFallbacks(hasProgram func(name string) bool) []string {
	var names []string
	for _, def := range hookDefs {
		if len(def.fentry) == 0 || slices.ContainsFunc(def.fentry, func(p probe) bool { return !hasProgram(p.prog) }) {
			continue
		}
		for _, p := range def.tracepoint {
			names = append(names, p.prog)
		}
	}
	return names
}

// attachAll attaches every probe of a list, or none of them, loading
// first those of their programs left for later.
func (t *Tracer) attachAll(probes []probe) ([]link.Link, error) {
	names := make([]string, len(probes))
	for i, p := range probes {
		names[i] = p.prog
	}
	if err := t.loadLater(names); err != nil {
		return nil, err
	}
	var links []link.Link
	for _, p := range probes {
		l, err := p.attach(t.coll)
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			return nil, fmt.Errorf("attach %s: %w", p, err)
		}
		links = append(links, l)
	}
	return links, nil
}

// attach attaches each hook with fentry where it was loaded and attaches,
// falling back to its tracepoints per hook. A missing optional hook is only
// reported; a missing required one is an error.
func (t *Tracer) attach() error {
	defer func() { t.later = nil }() // what is not loaded by now never will be
	for _, def := range hookDefs {
		h := Hook{Name: def.name, Required: def.required}
		var links []link.Link
		var err error
		if len(def.fentry) > 0 && t.fentryLoaded {
			if links, err = t.attachAll(def.fentry); err == nil {
				h.Via = "fentry"
			}
		} else if len(def.fentry) > 0 {
			err = t.fentryErr
		}
		// --hooks fentry forbids syscall tracepoints, not tp_btf (fork).
		if h.Via == "" && len(def.tracepoint) > 0 && (t.opts.Hooks != HooksFentry || len(def.fentry) == 0) {
			fentryErr := err
			if links, err = t.attachAll(def.tracepoint); err == nil {
				h.Via = "tracepoint"
				if def.tracepoint[0].group == "" {
					h.Via = "tp_btf"
				}
				err = fentryErr // keep why fentry was not used, for the report
			}
		}
		if h.Via == "" && len(def.fallback) > 0 {
			firstErr := err
			if links, err = t.attachAll(def.fallback); err == nil {
				h.Via = "tracepoint"
				err = firstErr
			}
		}
		h.Attached = h.Via != ""
		h.Err = err
		t.hooks = append(t.hooks, h)
		t.links = append(t.links, links...)
		if def.required && !h.Attached {
			if err == nil {
				err = errors.New("no program for this hook set")
			}
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s hook: %w: %w", def.name, ErrHookUnavailable, err)
			}
			return permissionError(def.name+" hook", err, attachNeeds(err))
		}
	}
	return nil
}

// detach stops new records; those already queued stay readable. The
// caller holds t.stopMu: Run's stop and Close may both detach, from
// different goroutines, and Close must not go on while a detach is under way.
//
// The links are closed in parallel: each close waits for the kernel's
// grace periods (programs still running must leave), and closed together
// they wait for the same ones instead of one after the other.
func (t *Tracer) detach() {
	var wg sync.WaitGroup
	for _, l := range t.links {
		wg.Go(func() { l.Close() })
	}
	wg.Wait()
	t.links = nil
}
