package detect_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// withLogin runs argv under login uid 1000, as a process of a login
// session is.
func withLogin(argv ...string) []string {
	return append([]string{"-c", `echo 1000 > /proc/self/loginuid && exec "$@"`, "sh"}, argv...)
}

// nsenter from the host into a runc container's uts namespace: a warning
// for a process no login session started, a notice for one that a login
// session did; runc exec, whose runc init descends from runc, is quiet.
func TestKernelHostProcessEntersContainer(t *testing.T) {
	testenv.RequireTool(t, "nsenter")
	w := startWatch(t)
	id := "nstrace-detect-enter-" + strconv.Itoa(os.Getpid())
	pid := containerWith(t, id, nil)
	run(t, "runc", "exec", id, "/bin/true")
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Fatal(err)
	}
	nsenterExe, _ := filepath.EvalSymlinks(nsenter)
	bare := started(t, "nsenter", "-t", strconv.Itoa(pid), "-u", "--", "/bin/true")
	login := started(t, "sh", withLogin("nsenter", "-t", strconv.Itoa(pid), "-u", "--", "/bin/true")...)
	alerts := noFloods(mine(w.stop(t)))
	enters := ofRule(alerts, detect.RuleHostProcessEntersContainer)
	if len(enters) != 2 || len(alerts) != 2 {
		t.Fatalf("want two host-process-enters-container alerts (runc exec quiet); got:\n%s", describe(alerts))
	}
	for i, want := range []struct {
		pid  int
		sev  detect.Severity
		auid string
	}{{bare, detect.Warning, ""}, {login, detect.Notice, ", auid 1000"}} {
		a := enters[i]
		p := a.Trigger.Process
		if int(a.Pid) != want.pid || a.Severity != want.sev || a.Joined == nil || a.Joined.ID != id ||
			p == nil || p.Exe != nsenterExe || !slices.Equal(a.Mitre, []string{"T1609"}) {
			t.Errorf("alert %d: pid %d (want %d) severity %s (want %s) joined %+v process %+v mitre %v",
				i, a.Pid, want.pid, a.Severity, want.sev, a.Joined, p, a.Mitre)
			continue
		}
		if !strings.Contains(a.Message, "from the host joined ctr ") || !strings.Contains(a.Message, want.auid) ||
			p.Ancestors[0].Pid != uint32(os.Getpid()) && want.auid == "" {
			t.Errorf("alert %d: %s (ancestors %+v)", i, a.Message, p.Ancestors)
		}
		line := string(a.AppendJSON(nil))
		for _, s := range []string{`"mitre":["T1609"]`, `"exe":"` + nsenterExe + `"`, `"args":["nsenter","-t","` + strconv.Itoa(pid) + `","-u","--","/bin/true"]`, `"ancestors":[{"pid":`} {
			if !strings.Contains(line, s) {
				t.Errorf("alert %d JSON lacks %s: %s", i, s, line)
			}
		}
		t.Logf("%s", line)
	}
}

// root inside a container creates a user namespace: userns-in-container,
// naming the container and the process's executable inside it. root on
// the host doing the same is quiet.
func TestKernelUsernsInContainer(t *testing.T) {
	testenv.RequireTool(t, "unshare")
	w := startWatch(t)
	id := "nstrace-detect-userns-" + strconv.Itoa(os.Getpid())
	containerWith(t, id, nil)
	run(t, "unshare", "-U", "true")
	run(t, "runc", "exec", id, "/bin/busybox", "unshare", "-U", "/bin/true")
	alerts := noFloods(notEntries(mine(w.stop(t))))
	if len(alerts) != 1 || alerts[0].Rule != detect.RuleUsernsInContainer {
		t.Fatalf("want one userns-in-container alert; got:\n%s", describe(alerts))
	}
	a := alerts[0]
	p := a.Trigger.Process
	if a.Severity != detect.Warning || a.Container == nil || a.Container.ID != id || p == nil ||
		p.Exe != "/bin/busybox" || !slices.Equal(p.Args, []string{"/bin/busybox", "unshare", "-U", "/bin/true"}) ||
		len(a.Also) != 0 || !slices.Equal(a.Mitre, []string{"T1611"}) {
		t.Errorf("alert: severity %s container %+v process %+v also %v mitre %v", a.Severity, a.Container, p, a.Also, a.Mitre)
	}
	t.Logf("%s", a.AppendJSON(nil))
}

// uid 1000 without capabilities inside a container unshares a user and a
// uts namespace: one alert, the most specific (userns-in-container), that
// names the other two rules the call matched; with userns-in-container
// off, unshare-without-cap-sys-admin is the one. root with CAP_SYS_ADMIN
// unsharing uts in a container is quiet.
func TestKernelUnshareWithoutCapSysAdmin(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := map[bool]string{false: "all rules", true: "userns-in-container off"}[off]
		t.Run(name, func(t *testing.T) {
			var rules *detect.Rules
			if off {
				var err error
				rules, err = detect.ParseRules("rules.yaml", []byte("builtin:\n  userns-in-container: false\n"))
				if err != nil {
					t.Fatal(err)
				}
			}
			w := startWatchRules(t, rules)
			id := "nstrace-detect-nocap-" + strconv.Itoa(os.Getpid())
			containerWith(t, id, nil)
			admin := id + "-admin"
			containerWith(t, admin, func(cfg map[string]any) { testenv.AddCapability(cfg, "CAP_SYS_ADMIN") })
			run(t, "runc", "exec", admin, "/bin/busybox", "unshare", "-u", "/bin/true")
			cmd := exec.Command("runc", "exec", "--user", "1000:1000", id, "/bin/busybox", "unshare", "-U", "-u", "/bin/true")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("runc exec as 1000: %v: %s", err, out)
			}
			alerts := notEntries(w.stop(t))
			var ours []detect.Alert
			for _, a := range alerts {
				if a.Container != nil && (a.Container.ID == id || a.Container.ID == admin) {
					ours = append(ours, a)
				}
			}
			want, also := detect.RuleUsernsInContainer, []string{detect.RuleUnshareWithoutCapSysAdmin, detect.RuleUnprivilegedUserns}
			if off {
				want, also = detect.RuleUnshareWithoutCapSysAdmin, []string{detect.RuleUnprivilegedUserns}
			}
			if len(ours) != 1 || ours[0].Rule != want || !slices.Equal(ours[0].Also, also) {
				t.Fatalf("want one %s alert also naming %v; got:\n%s", want, also, describe(ours))
			}
			a := ours[0]
			if a.Container.ID != id || a.Trigger.UID != 1000 || a.Trigger.Caps&caps.SysAdminMask != 0 || a.Severity != detect.Warning {
				t.Errorf("alert: container %s uid %d caps %#x severity %s", a.Container.ID, a.Trigger.UID, a.Trigger.Caps, a.Severity)
			}
			if off && !strings.Contains(a.Message, "as uid 1000 without CAP_SYS_ADMIN, created user, uts namespaces") {
				t.Errorf("message %q", a.Message)
			}
			t.Logf("%s", a.AppendJSON(nil))
		})
	}
}

// With docker: docker exec (runc init under runc under containerd-shim)
// and dockerd's own work on the container are quiet; nsenter from the
// host into the same container is one host-process-enters-container.
func TestKernelHostProcessEntersDockerContainer(t *testing.T) {
	testenv.RequireTool(t, "nsenter")
	d := testenv.StartDocker(t)
	image := "nstrace/busybox:detect"
	d.ImportBusybox(t, image, "/bin/sleep", "100000")
	w := startWatch(t)
	id := d.CLI(t, "run", "-d", image)
	pid := d.CLI(t, "inspect", "-f", "{{.State.Pid}}", id)
	d.CLI(t, "exec", id, "/bin/true")
	enter := started(t, "nsenter", "-t", pid, "-u", "--", "/bin/true")
	alerts := noFloods(mine(w.stop(t)))
	if len(alerts) != 1 || alerts[0].Rule != detect.RuleHostProcessEntersContainer {
		t.Fatalf("want one host-process-enters-container alert (docker exec quiet); got:\n%s", describe(alerts))
	}
	a := alerts[0]
	if int(a.Pid) != enter || a.Joined == nil || a.Joined.ID != id || a.Joined.Runtime != "docker" {
		t.Errorf("alert by %d (want %d) joined %+v, want docker container %s", a.Pid, enter, a.Joined, id)
	}
}

// noFloods leaves out flood alerts: other packages' tests and benchmarks
// flood as root meanwhile.
func noFloods(alerts []detect.Alert) []detect.Alert {
	var out []detect.Alert
	for _, a := range alerts {
		if a.Rule != detect.RuleFlood {
			out = append(out, a)
		}
	}
	return out
}
