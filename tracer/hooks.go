package tracer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Hook is one probe point and what became of it.
type Hook struct {
	Name     string // e.g. "tracepoint/syscalls/sys_enter_unshare"
	Required bool   // without it nstrace cannot do its job
	Attached bool
	Err      error // why it did not attach
}

// hookPoint ties a program to where it attaches.
type hookPoint struct {
	prog     *ebpf.Program
	group    string // tracepoint group; empty for tp_btf
	name     string
	required bool
}

func (t *Tracer) hookPoints() []hookPoint {
	p := &t.objs.NstracePrograms
	sys := func(prog *ebpf.Program, name string, required bool) hookPoint {
		return hookPoint{prog: prog, group: "syscalls", name: name, required: required}
	}
	return []hookPoint{
		sys(p.UnshareEnter, "sys_enter_unshare", true),
		sys(p.UnshareExit, "sys_exit_unshare", true),
		sys(p.SetnsEnter, "sys_enter_setns", true),
		sys(p.SetnsExit, "sys_exit_setns", true),
		{prog: p.Fork, name: "sched_process_fork", required: true},
		// Without these nstrace still sees every new task's namespaces;
		// it loses only clone flags, failed clones and time switches by exec.
		sys(p.CloneEnter, "sys_enter_clone", false),
		sys(p.CloneExit, "sys_exit_clone", false),
		sys(p.Clone3Enter, "sys_enter_clone3", false),
		sys(p.Clone3Exit, "sys_exit_clone3", false),
		sys(p.ExecveEnter, "sys_enter_execve", false),
		sys(p.ExecveExit, "sys_exit_execve", false),
		sys(p.ExecveatEnter, "sys_enter_execveat", false),
		sys(p.ExecveatExit, "sys_exit_execveat", false),
	}
}

func (h hookPoint) String() string {
	if h.group == "" {
		return "tp_btf/" + h.name
	}
	return "tracepoint/" + h.group + "/" + h.name
}

func (h hookPoint) attach() (link.Link, error) {
	if h.group == "" {
		return link.AttachTracing(link.TracingOptions{Program: h.prog})
	}
	return link.Tracepoint(h.group, h.name, h.prog, nil)
}

// attach attaches every hook; a missing optional hook is only reported.
func (t *Tracer) attach() error {
	for _, h := range t.hookPoints() {
		l, err := h.attach()
		hook := Hook{Name: h.String(), Required: h.required, Attached: err == nil, Err: err}
		t.hooks = append(t.hooks, hook)
		if err == nil {
			t.links = append(t.links, l)
			continue
		}
		if h.required {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("attach %s: %w: %w", h, ErrHookUnavailable, err)
			}
			return permissionError("attach "+h.String(), err)
		}
	}
	return nil
}

// detach stops new records; those already queued stay readable.
func (t *Tracer) detach() {
	for _, l := range t.links {
		l.Close()
	}
	t.links = nil
}

// HookSummary is a one-line report: attached hooks, then missing ones.
func HookSummary(hooks []Hook) string {
	var on, off []string
	for _, h := range hooks {
		short := h.Name[strings.LastIndexByte(h.Name, '/')+1:]
		if h.Attached {
			on = append(on, short)
		} else {
			off = append(off, short)
		}
	}
	s := "tracepoint hooks: " + strings.Join(on, " ")
	if len(off) > 0 {
		s += "; unavailable: " + strings.Join(off, " ")
	}
	return s
}

func permissionError(what string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%s: %w: run as root or grant CAP_BPF and CAP_PERFMON (%v)", what, ErrNotPermitted, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
