package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// setnsChurn makes n setns calls on a thread of its own, back and forth
// between the host's uts namespace and a new one, and returns the thread's
// id. The thread is left locked, so it ends with its goroutine.
func setnsChurn(n int) (tid int, done <-chan error) {
	tids := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		tids <- unix.Gettid()
		errc <- func() error {
			home, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(home)
			if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
				return err
			}
			away, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(away)
			for i := range n {
				fd := home
				if i%2 == 1 {
					fd = away
				}
				if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
					return fmt.Errorf("setns %d: %w", i, err)
				}
			}
			return nil
		}()
	}()
	return <-tids, errc
}

// 10 000 rules, none about this thread, cost setns churn nothing: every
// event arrives, none is lost, with the default ring. (Without the dispatch
// each event ran the 2 000 setns rules: the churn took minutes to drain.)
func TestTenThousandRulesLoseNoSetnsChurn(t *testing.T) {
	const rulesN, churn = 10000, 20000
	kinds := []string{"clone", "unshare", "setns", "exec", "destroy"}
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range rulesN {
		fmt.Fprintf(&b, "  - name: r%d\n    match: event == %q && comm == \"x%d\"\n", i, kinds[i%len(kinds)], i)
	}
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// --flood-rate 0: every event of the churn must reach the rules, not a
	// flood record (fairness has its own tests).
	tr := startTracing(t, "-o", "json", "--rules", rules, "--pid", strconv.Itoa(os.Getpid()), "--flood-rate", "0")

	start := time.Now()
	tid, done := setnsChurn(churn)
	counted := make(chan int, 1)
	go func() {
		n := 0
		for n < churn {
			line, err := tr.stdout.ReadString('\n')
			if err != nil {
				break
			}
			var ev struct {
				Event string `json:"event"`
				Tid   int    `json:"tid"`
			}
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "setns" && ev.Tid == tid {
				n++
			}
		}
		counted <- n
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	made := time.Since(start)
	var got int
	select {
	case got = <-counted:
	case <-time.After(30 * time.Second):
		t.Fatalf("setns churn: not all %d events arrived within 30s", churn)
	}
	t.Logf("%d setns made in %v, all delivered after %v", churn, made, time.Since(start))
	code, rest := tr.stop(t)
	if got != churn || code != 0 {
		t.Errorf("%d of %d setns events delivered; exit %d", got, churn, code)
	}
	m := regexp.MustCompile(`(?m)^nstrace: (\d+) events, (\d+) lost$`).FindStringSubmatch(rest)
	if m == nil || m[2] != "0" {
		t.Fatalf("summary: want 0 lost:\n%s", rest)
	}
	if n, _ := strconv.Atoi(m[1]); n < churn+1 {
		t.Errorf("summary counts %s events; the churn alone made %d", m[1], churn+1)
	}
}
