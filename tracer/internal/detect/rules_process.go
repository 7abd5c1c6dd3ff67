package detect

import (
	"path"
	"strconv"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// Names of the built-in rules that look at the process behind an event.
const (
	RuleHostProcessEntersContainer = "host-process-enters-container"
	RuleUsernsInContainer          = "userns-in-container"
	RuleUnshareWithoutCapSysAdmin  = "unshare-without-cap-sys-admin"
)

// BuiltinInfo documents a built-in rule: what `nstrace rules` lists and
// what its alerts carry.
type BuiltinInfo struct {
	Mitre     []string // MITRE ATT&CK technique ids
	Condition string   // when it fires, for people
}

// RuleInfo describes each built-in rule by name, flood included.
var RuleInfo = map[string]BuiltinInfo{
	RuleHostNamespaceEntry: {[]string{"T1611"}, "a process whose mnt, pid, uts or ipc namespace is not the host's " +
		"(inside a container, or a sandbox with its own mount namespace) calls setns into a host namespace; " +
		"not for a round trip out of and back into the same host namespace"},
	RuleCrossContainerJoin: {[]string{"T1611"}, "a process inside one container's namespaces calls setns into " +
		"a namespace of another container (systemd units are not containers)"},
	RuleHostProcessEntersContainer: {[]string{"T1609"}, "a process outside any container calls setns into a " +
		"container's namespace, and neither it nor an ancestor runs a container runtime (runc, crun, youki, " +
		"runsc, containerd, containerd-shim*, conmon, dockerd, podman) from a system directory, matched by " +
		"executable path, never by comm; notice when a login session started it (auid set), else its severity"},
	RuleContainerSharesHostNamespace: {[]string{"T1611"}, "a container or pod runs in the host's net, pid, ipc " +
		"or uts namespace: when its runtime gives its first process a mount namespace of its own and leaves " +
		"that process in a host namespace, and at start-up for those already running (live tracing only)"},
	RuleUsernsInContainer: {[]string{"T1611"}, "a process inside a container creates a user namespace"},
	RuleUnshareWithoutCapSysAdmin: {[]string{"T1611"}, "a non-root process inside a container creates " +
		"namespaces (unshare or clone) without CAP_SYS_ADMIN in its effective set before the call"},
	RuleUnprivilegedUserns: {[]string{"T1068"}, "a non-root uid creates a user namespace; each later " +
		"creation inside it raises another"},
	RuleDeniedChange: {[]string{"T1611"}, "unshare, setns or clone fails with EPERM; repeats by one " +
		"process within 60 s are folded into the next alert"},
	RuleFlood: {[]string{"T1562.006"}, "a source (uid and cgroup) sent more events than its share and the " +
		"rest were counted; once per source per 60 s"},
}

// Precedence orders the built-ins from most to least specific. When one
// event raises several, the most specific is kept and lists the others in
// Also (severity: the highest of them): an unprivileged unshare -U inside a
// container is one userns-in-container alert that also names
// unshare-without-cap-sys-admin and unprivileged-userns.
var Precedence = []string{
	RuleHostNamespaceEntry,
	RuleCrossContainerJoin,
	RuleHostProcessEntersContainer,
	RuleContainerSharesHostNamespace,
	RuleUsernsInContainer,
	RuleUnshareWithoutCapSysAdmin,
	RuleUnprivilegedUserns,
	RuleDeniedChange,
}

// runtimeExes are the container runtimes whose descendants enter
// containers as their work, by file name; their directory must be one of
// systemDirs, which only root can write.
var (
	runtimeExes = map[string]bool{"runc": true, "crun": true, "youki": true, "runsc": true,
		"containerd": true, "containerd-shim": true, "containerd-shim-runc-v1": true,
		"containerd-shim-runc-v2": true, "conmon": true, "dockerd": true, "podman": true}
	systemDirs = map[string]bool{"/usr/bin": true, "/usr/sbin": true, "/bin": true, "/sbin": true,
		"/usr/local/bin": true, "/usr/local/sbin": true, "/usr/libexec/podman": true, "/usr/lib/podman": true}
)

// isRuntime tells whether exe is a container runtime in a system directory.
func isRuntime(exe string) bool {
	return runtimeExes[path.Base(exe)] && systemDirs[path.Dir(exe)]
}

// runtimeAncestry tells whether the process or one of its ancestors runs a
// container runtime.
func runtimeAncestry(p *event.Process) bool {
	if p == nil {
		return false
	}
	if isRuntime(p.Exe) {
		return true
	}
	for i := range p.Ancestors {
		if isRuntime(p.Ancestors[i].Exe) {
			return true
		}
	}
	return false
}

// inContainer is the container a task is in, by its cgroup or its
// namespaces; nil outside any (systemd units are not containers).
func (d *Detector) inContainer(ev *event.Event, t *task) *event.Container {
	if isContainer(ev.Container) {
		return ev.Container
	}
	if _, ctr := d.identity(ev, t); isContainer(ctr) {
		return ctr
	}
	return nil
}

// checkHostProcessEntry: a process outside any container joins a
// container's namespace, not on behalf of a runtime.
func (d *Detector) checkHostProcessEntry(ev *event.Event, t *task) {
	if !d.rules.builtin[bEnter].enabled {
		return
	}
	var joined *event.Container
	var types uint16
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if c.Action != event.Join || c.From == c.To || !isContainer(c.Container) {
			continue
		}
		if joined == nil {
			joined = c.Container
		}
		if sameContainer(joined, c.Container) {
			types |= 1 << c.Type
		}
	}
	// Without its process (a recording made before events carried one)
	// there is no telling a runtime from anything else: no alert.
	if joined == nil || ev.Process == nil || d.inContainer(ev, t) != nil || runtimeAncestry(ev.Process) {
		return
	}
	b := make([]byte, 0, 200)
	b = appendWho(b, ev)
	b = append(b, " from the host joined "...)
	b = appendNamespacesOf(b, joined.Label(), types)
	person := ev.HasCreds && ev.Auid != event.NoAuid
	if person {
		b = append(b, ", in a login session"...)
	} else {
		b = append(b, ", not by a container runtime"...)
	}
	d.raise(bEnter, ev, string(b), joined, func(a *Alert) {
		a.Joined = joined
		if person && a.Severity > Notice {
			a.Severity = Notice
		}
	})
}

// checkContainerUserns: inside a container, a user namespace is created;
// and a non-root process there creates namespaces without CAP_SYS_ADMIN.
func (d *Detector) checkContainerCreates(ev *event.Event, t *task) {
	if !d.rules.builtin[bCtrUserns].enabled && !d.rules.builtin[bNoCap].enabled {
		return
	}
	var created uint16
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.Action == event.Create {
			created |= 1 << c.Type
		}
	}
	userns := created&(1<<event.User) != 0 && d.rules.builtin[bCtrUserns].enabled
	noCap := ev.UID != 0 && ev.HasCreds && ev.Caps&caps.SysAdminMask == 0 && d.rules.builtin[bNoCap].enabled
	// Where neither could fire, the container is not worth a look at
	// /proc: a short-lived child's is a failed read.
	if created == 0 || !userns && !noCap {
		return
	}
	ctr := d.inContainer(ev, t)
	if ctr == nil {
		return
	}
	if userns {
		b := make([]byte, 0, 200)
		b = appendWho(b, ev)
		b = append(b, ", inside "...)
		b = append(b, ctr.Label()...)
		b = append(b, ", created a user namespace"...)
		if rest := created &^ (1 << event.User); rest != 0 {
			b = append(b, " and in it "...)
			b = appendTypes(b, rest, ", ")
		}
		d.raise(bCtrUserns, ev, string(b), ctr, func(a *Alert) { a.Created = typeList(created) })
	}
	if noCap {
		b := make([]byte, 0, 200)
		b = appendWho(b, ev)
		b = append(b, ", inside "...)
		b = append(b, ctr.Label()...)
		b = append(b, " as uid "...)
		b = strconv.AppendUint(b, uint64(ev.UID), 10)
		b = append(b, " without CAP_SYS_ADMIN, created "...)
		b = appendTypes(b, created, ", ")
		b = append(b, " namespace"...)
		if created&(created-1) != 0 {
			b = append(b, 's')
		}
		d.raise(bNoCap, ev, string(b), ctr, func(a *Alert) { a.Created = typeList(created) })
	}
}

// finishBuiltins gives the built-ins' alerts on one event (d.alerts[from:])
// their MITRE ids, and keeps only the most specific, naming the others.
func (d *Detector) finishBuiltins(from int) {
	as := d.alerts[from:]
	for i := range as {
		as[i].Mitre = RuleInfo[as[i].Rule].Mitre
	}
	if len(as) < 2 {
		return
	}
	best := 0
	for i := range as {
		if rank(as[i].Rule) < rank(as[best].Rule) {
			best = i
		}
	}
	kept := as[best]
	for i := range as {
		if i == best {
			continue
		}
		kept.Also = append(kept.Also, as[i].Rule)
		kept.Severity = max(kept.Severity, as[i].Severity)
	}
	d.alerts = append(d.alerts[:from], kept)
}

func rank(rule string) int {
	for i, r := range Precedence {
		if r == rule {
			return i
		}
	}
	return len(Precedence)
}

// appendProcess appends what a message says of the process beyond its comm
// and pid: its executable when its comm does not name it, its login uid,
// and up to three ancestors.
func appendProcess(b []byte, ev *event.Event) []byte {
	p := ev.Process
	if p != nil && p.Exe != "" && path.Base(p.Exe) != ev.Comm {
		b = append(b, ", "...)
		b = append(b, p.Exe...)
	}
	if ev.HasCreds && ev.Auid != event.NoAuid {
		b = append(b, ", auid "...)
		b = strconv.AppendUint(b, uint64(ev.Auid), 10)
	}
	if p != nil && len(p.Ancestors) > 0 {
		b = append(b, ", from "...)
		for i := range min(len(p.Ancestors), 3) {
			a := &p.Ancestors[i]
			if i > 0 {
				b = append(b, " ← "...)
			}
			b = append(b, a.Comm...)
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(a.Pid), 10)
		}
		if len(p.Ancestors) > 3 {
			b = append(b, " ← …"...)
		}
	}
	return b
}

// appendMitreAlso appends an alert's "mitre" and "also" fields.
func (a *Alert) appendMitreAlso(b []byte) []byte {
	for _, f := range [...]struct {
		key  string
		list []string
	}{{`,"mitre":[`, a.Mitre}, {`,"also":[`, a.Also}} {
		if len(f.list) == 0 {
			continue
		}
		b = append(b, f.key...)
		for i, s := range f.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = encode.AppendJSONString(b, s)
		}
		b = append(b, ']')
	}
	return b
}
