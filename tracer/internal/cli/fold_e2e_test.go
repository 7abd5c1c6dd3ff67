package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// foldedAlert is what the test reads of an alert line.
type foldedAlert struct {
	Event string `json:"event"`
	Rule  string `json:"rule"`
	Pid   uint32 `json:"pid"`
	Count uint64 `json:"count"`
	Last  *struct {
		Pid uint32 `json:"pid"`
	} `json:"last_trigger"`
}

func foldedAlerts(t *testing.T, out, rule string) []foldedAlert {
	t.Helper()
	var as []foldedAlert
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a foldedAlert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if a.Event == "alert" && a.Rule == rule {
			as = append(as, a)
		}
	}
	return as
}

// 200 unprivileged `unshare -U` from 200 processes within a window: one
// alert at once from the first, then one alert counting all 200 with the
// first and last pids, live and in the recording. The rule's exception
// keeps out other tests' user namespaces (folding is across processes);
// the unshare is a copy under a name of its own.
func TestTwoHundredUnprivilegedUsernsFoldIntoOneCount(t *testing.T) {
	testenv.RequireTool(t, "setpriv")
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare")
	}
	mine := filepath.Join(filepath.Dir(binary), "nsfold-unshare") // a directory nobody may enter
	data, err := os.ReadFile(unshare)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, data, 0o755); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`version: 1
builtin:
  unprivileged-userns:
    window: 10m
    unless: comm != "nsfold-unshare"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	session := filepath.Join(t.TempDir(), "s.jsonl")
	rec := startRecorder(t, "-o", "json", "--alerts-only", "--rules", rules, "-w", session, "--comm", "nsfold-unshare")
	var pids []uint32
	for range 200 {
		cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", mine, "-U", "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		pids = append(pids, uint32(cmd.Process.Pid)) // setpriv execs unshare: one pid
	}
	code, stdout, stderr := rec.stop(t, syscall.SIGINT)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check := func(how, out string) {
		t.Helper()
		as := foldedAlerts(t, out, "unprivileged-userns")
		if len(as) != 2 || as[0].Count != 0 || as[0].Pid != pids[0] ||
			as[1].Count != 200 || as[1].Pid != pids[0] || as[1].Last == nil || as[1].Last.Pid != pids[199] {
			t.Errorf("%s: want an alert from pid %d, then one with count 200 from %d to %d; got %+v\n%s",
				how, pids[0], pids[0], pids[199], as, out)
		}
	}
	check("live", stdout)
	if !strings.Contains(stderr, "nstrace: 2 alerts (2 warning)\n") {
		t.Errorf("stderr: %s", stderr)
	}
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", "--alerts-only", session)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	check("recorded", out)
}
