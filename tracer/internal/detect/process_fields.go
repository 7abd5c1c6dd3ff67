package detect

import (
	"reflect"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/proccache"
)

// ruleAncestor is the CEL shape of one of an event's ancestors.
type ruleAncestor struct {
	Pid  int64  `cel:"pid"`
	Comm string `cel:"comm"`
	Exe  string `cel:"exe"`
}

func init() { ruleObjects["ancestor"] = reflect.TypeFor[ruleAncestor]() }

// Bounds of the process fields (bpf/proc.h), for the cost estimates.
const (
	maxPath     = 255
	maxArg      = proccache.MaxArgsBytes
	numCapNames = 64
	maxCapName  = len("CAP_CHECKPOINT_RESTORE")
)

// processSize is the size estimate of a process field by its CEL path, or
// -1 for a path that is not one.
func processSize(path []string) int {
	last := path[len(path)-1]
	switch {
	case len(path) == 1 && last == "args":
		return proccache.MaxArgs
	case path[0] == "args" && last == "@items":
		return maxArg
	case len(path) == 1 && last == "caps":
		return numCapNames
	case path[0] == "caps" && last == "@items":
		return maxCapName
	case len(path) == 1 && last == "ancestors":
		return proccache.MaxAncestors
	case len(path) == 1 && last == "truncated":
		return 4
	case path[0] == "truncated" && last == "@items":
		return len("ancestors")
	case last == "exe", last == "exe_arg":
		return maxPath
	case last == "container_role":
		return len(event.RoleInit)
	}
	return -1
}

// processFits tells whether ev's process is within the estimates' bounds.
func processFits(p *event.Process) bool {
	if p == nil {
		return true
	}
	if len(p.Exe) > maxPath || len(p.ExeArg) > maxPath || len(p.Args) > proccache.MaxArgs ||
		len(p.Ancestors) > proccache.MaxAncestors || len(p.Truncated) > 4 || len(p.Role) > len(event.RoleInit) {
		return false
	}
	for _, a := range p.Args {
		if len(a) > maxArg {
			return false
		}
	}
	for _, t := range p.Truncated {
		if len(t) > len("ancestors") {
			return false
		}
	}
	for i := range p.Ancestors {
		if a := &p.Ancestors[i]; len(a.Comm) > maxComm || len(a.Exe) > maxPath {
			return false
		}
	}
	return true
}

// resolveProcess presents the process fields: auid reads -1 when unset or
// unknown, the others empty when the event has no process.
func (a *activation) resolveProcess(name string) (any, bool) {
	ev := a.ev
	p := ev.Process
	if p == nil {
		p = &noProcess
	}
	switch name {
	case "auid":
		if !ev.HasCreds || ev.Auid == event.NoAuid {
			return int64(-1), true
		}
		return int64(ev.Auid), true
	case "caps":
		a.caps = caps.AppendNames(a.caps[:0], ev.Caps)
		return a.caps, true
	case "exe":
		return p.Exe, true
	case "exe_arg":
		return p.ExeArg, true
	case "args":
		return p.Args, true
	case "truncated":
		return p.Truncated, true
	case "container_role":
		return p.Role, true
	case "ancestors":
		a.ancestors = a.ancestors[:0]
		for i := range p.Ancestors {
			an := &p.Ancestors[i]
			a.ancestors = append(a.ancestors, ruleAncestor{Pid: int64(an.Pid), Comm: an.Comm, Exe: an.Exe})
		}
		return a.ancestors, true
	}
	return nil, false
}

var noProcess event.Process
