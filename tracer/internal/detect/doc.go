// Package detect raises security alerts from the event stream: the ways
// containers are escaped and kernel attack surface is reached show up as
// namespace changes.
//
// A Detector consumes events after resolution (tracer/internal/resolve has marked
// host namespaces and containers) and returns zero or more Alerts per event,
// allocating nothing when there are none. It remembers, per thread, the
// namespaces events showed it in, in a table of bounded size (the kernel
// reports no exits: the thread unseen for longest is forgotten first). A
// thread first seen in an event starts from its process's or parent's
// state; a live detector may read /proc/TID/ns for what is still unknown.
//
// # Built-in rules
//
// Names and JSON fields are a contract.
//
//   - host-namespace-entry (critical): a thread whose identity namespaces
//     (mnt, pid, uts, ipc: where a process is, as opposed to net and user,
//     which are what it reaches) are not all the host's calls setns into a
//     host namespace. Not raised for a round trip: a thread outside any
//     container returning to the host namespace it itself left, its identity
//     unchanged since (`ip netns add` unshares net and setns's straight back).
//     A clone into a parent's pid_for_children is not raised again: the
//     parent's setns was.
//   - cross-container-join (warning): a thread inside one container's
//     namespaces calls setns into a namespace of a different container.
//     systemd units do not count as containers; a Kubernetes pod label is
//     compared only with another pod's.
//   - unprivileged-userns (warning): a non-root uid creates a user namespace;
//     the alert lists what the same call created in it ("created"), and each
//     later creation inside that namespace raises another.
//   - denied-namespace-change (notice): unshare, setns or clone failed with
//     EPERM.
//   - host-process-enters-container (warning; notice when a login session
//     started the process), userns-in-container (warning) and
//     unshare-without-cap-sys-admin (warning): see rules_process.go and
//     RuleInfo, which documents every built-in and its MITRE ATT&CK ids.
//   - container-shares-host-namespace (warning): a container runs in the
//     host's net, pid, ipc or uts namespace ("host_namespaces"); judged once
//     per container, when its runtime gives it a mount namespace, and for
//     those already running from the inventory, whose alerts Due hands out
//     with no trigger (rules_shares.go).
//
// When one event raises several built-ins, the most specific (Precedence)
// is kept, with the highest of their severities, and names the others in
// Alert.Also.
//
// # Folding
//
// Every rule's alerts in one container (or on the host) are folded per
// window, 10s unless the rule file says otherwise, whichever processes
// raise them: the first raises its alert at once, and when the window
// closes one more alert counts them all ("count", the first trigger in
// "trigger", the last in "last_trigger"). `nsenter -a` joining seven host
// namespaces, or 200 unprivileged unshares, are thus two alerts. A flood
// record's alert is folded per source instead ("suppressed").
//
// # Rule files
//
// A YAML file can switch built-ins off, change their severity, give them an
// exception, and add rules written as CEL expressions
// (https://github.com/google/cel-go) over the event's fields, named as in
// its JSON form:
//
//	version: 1
//	builtin:
//	  denied-namespace-change: false          # off
//	  unprivileged-userns:
//	    severity: notice
//	    unless: comm in ["bwrap", "flatpak"]  # known sandboxes
//	    window: 1m                            # fold per minute (0s: never)
//	rules:
//	  - name: netns-from-shell
//	    severity: warning
//	    message: a shell joined a network namespace
//	    match: >
//	      event == "setns" && comm in ["sh", "bash", "zsh"] &&
//	      changes.exists(c, c.type == "net" && c.action == "join")
//
// Variables: time (timestamp), event (clone, unshare, setns, exec, destroy),
// pid, tid, ppid, uid, cgroup_id, userns (int: the caller's user namespace),
// comm, error ("" or "EPERM"), flags
// (list of "CLONE_NEWNET"...), container {id, runtime, name}, target {type,
// inode} (a failed setns), and changes, a list of {type, action, from, to,
// ns_id, name, host, owner, container}. The process behind the event: exe,
// exe_arg, args (list), ancestors (list of {pid, comm, exe}, parent first),
// auid (-1 when no login session), caps (list of "CAP_SYS_ADMIN"...: the
// effective set before the call), truncated, container_role ("init",
// "exec" or ""). Absent objects read as empty:
// container.id == "" outside containers. Severities: info, notice, warning,
// critical. Every expression is compiled when the file is loaded; an error
// names the file and line: `rules.yaml:12: rule "x": match: undeclared
// reference to 'foo'`.
//
// # Bounded rules
//
// A rule may not cost more than MaxRuleCost per event, as cel-go estimates
// it from how long the event's lists and strings can be: one that may is
// refused at load (a comprehension over a long list, pairs of characters of
// a name). An event longer than live tracing produces (a crafted session)
// is evaluated with cel-go's cost tracking and stopped at that limit. Once
// the rules run on one event have cost DefaultRuleBudget, its remaining
// rules are skipped and counted. An expression that fails on an event (an
// index out of range, a division by zero) does not match and is counted
// against its rule (RuleErrors, Observer); a failing unless raises the
// alert.
//
// An event runs only the rules it could match: each rule's match is read
// for the event kinds, comms and namespace types of changes it requires
// (`event == "setns"`, `comm in [...]`, `changes.exists(c, c.type ==
// "net")`), so thousands of rules on other events or comms cost an event
// nothing. A comparison with an event kind or namespace type that does not
// exist is refused at load.
package detect
