package event

import (
	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// Process is the process behind an event: for clone, the caller (the
// child's parent, whose image the child shares). The kernel reads it while
// the process runs the call, so a process that is gone a moment later still
// has it. Values are shared between events of one exec; treat them as
// read-only.
type Process struct {
	Exe       string     // the executable, as the process's root sees it
	ExeArg    string     // the path passed to execve, when it differs from Exe
	Args      []string   // argv as the process's memory held it at its first event
	Ancestors []Ancestor // parent first, up to the init of a pid namespace
	Truncated []string   // which of exe, exe_arg, args, ancestors were cut
	Role      string     // RoleInit or RoleExec, in a pid namespace not the host's
}

// Roles of a process in a non-host pid namespace (a container's).
const (
	RoleInit = "init" // pid 1 of its pid namespace: the container's init
	RoleExec = "exec" // entered from outside (docker exec, runc exec, nsenter)
)

// Ancestor is one process of an event's parent chain.
type Ancestor struct {
	Pid  uint32
	Comm string
	Exe  string
}

// NoAuid is the login uid of a process no login session started.
const NoAuid = ^uint32(0)

// appendProcessJSON writes the process fields of a syscall record: from
// nums' memory of the processes it wrote last, where it has them.
func (e *Event) appendProcessJSON(b []byte, nums *Numbers) []byte {
	if !e.HasCreds && e.Process == nil {
		return b
	}
	if nums == nil {
		return e.encodeProcessJSON(b, nil)
	}
	return nums.procs.append(b, e, nums)
}

// encodeProcessJSON formats the process fields.
func (e *Event) encodeProcessJSON(b []byte, nums *Numbers) []byte {
	if e.HasCreds {
		if e.Auid != NoAuid {
			b = appendUintField(b, nums, "auid", uint64(e.Auid))
		}
		b = append(b, `,"caps":[`...)
		first := true
		for i := range 64 {
			if e.Caps&(1<<i) == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, caps.Name(i)...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	p := e.Process
	if p == nil {
		return b
	}
	b = append(b, `,"exe":`...)
	b = encode.AppendJSONString(b, p.Exe)
	if p.ExeArg != "" {
		b = append(b, `,"exe_arg":`...)
		b = encode.AppendJSONString(b, p.ExeArg)
	}
	b = append(b, `,"args":`...)
	b = appendStrings(b, p.Args)
	b = append(b, `,"ancestors":[`...)
	for i := range p.Ancestors {
		a := &p.Ancestors[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"pid":`...)
		b = nums.Append(b, uint64(a.Pid))
		b = append(b, `,"comm":`...)
		b = encode.AppendJSONString(b, a.Comm)
		if a.Exe != "" {
			b = append(b, `,"exe":`...)
			b = encode.AppendJSONString(b, a.Exe)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(p.Truncated) > 0 {
		b = append(b, `,"truncated":`...)
		b = appendStrings(b, p.Truncated)
	}
	if p.Role != "" {
		b = append(b, `,"container_role":"`...)
		b = append(b, p.Role...)
		b = append(b, '"')
	}
	return b
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = encode.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func (e *Event) processFromWire(w *wire) error {
	if w.Caps != nil {
		e.HasCreds = true
		e.Auid = NoAuid
		if w.Auid != nil {
			e.Auid = *w.Auid
		}
		for _, name := range w.Caps {
			bit, ok := caps.ParseName(name)
			if !ok {
				return errUnknownCap(name)
			}
			e.Caps |= bit
		}
	}
	if w.Exe == nil {
		return nil
	}
	p := &Process{Exe: *w.Exe, ExeArg: w.ExeArg, Args: w.Args, Truncated: w.Truncated, Role: w.ContainerRole}
	for _, a := range w.Ancestors {
		p.Ancestors = append(p.Ancestors, Ancestor{Pid: a.Pid, Comm: a.Comm, Exe: a.Exe})
	}
	e.Process = p
	return nil
}

type errUnknownCap string

func (e errUnknownCap) Error() string { return "unknown capability " + string(e) }
