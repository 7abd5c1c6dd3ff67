package metrics

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"syscall"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	return string(body)
}

// value reads one sample from an exposition, or -1 when it is absent.
func value(t *testing.T, text, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScrapedCountersMove(t *testing.T) {
	m := New()
	fill := 0.25
	m.ObserveRing(func() float64 { return fill })
	lost := map[string]uint64{"ring_full": 0, "pending_full": 0}
	m.ObserveLost(func() map[string]uint64 { return lost })
	m.ObserveNamespaces(func() *inventory.Inventory {
		return &inventory.Inventory{Namespaces: []inventory.Namespace{{Type: event.Net, Inode: 1}, {Type: event.Net, Inode: 2}, {Type: event.Mnt, Inode: 3}}}
	})
	srv, err := m.Serve("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	before := scrape(t, srv.Addr())
	if v := value(t, before, `nstrace_events_total{event="unshare"}`); v != -1 {
		t.Errorf("unshare counted %v before any event", v)
	}
	unshare := &event.Event{Kind: event.Unshare, Changes: []event.Change{
		{Type: event.Net, Action: event.Create}, {Type: event.UTS, Action: event.Create}}}
	for range 3 {
		m.Event(unshare)
	}
	m.Event(&event.Event{Kind: event.Setns, Errno: syscall.EPERM})
	m.Event(&event.Event{Kind: event.Lost, Lost: 5})
	m.Alert(&detect.Alert{Rule: detect.RuleHostNamespaceEntry, Severity: detect.Critical})
	m.RuleError("sixth-change")
	m.RuleError("sixth-change")
	m.RuleError("per-uid")
	m.RuleBudgetExceeded()
	fill, lost["ring_full"] = 0.5, 7

	after := scrape(t, srv.Addr())
	for series, want := range map[string]float64{
		`nstrace_events_total{event="unshare"}`:                                       3,
		`nstrace_events_total{event="setns"}`:                                         1,
		`nstrace_namespace_changes_total{action="create",event="unshare",type="net"}`: 3,
		`nstrace_namespace_changes_total{action="create",event="unshare",type="uts"}`: 3,
		`nstrace_failed_events_total{error="EPERM",event="setns"}`:                    1,
		`nstrace_alerts_total{rule="host-namespace-entry",severity="critical"}`:       1,
		`nstrace_rule_errors_total{rule="sixth-change"}`:                              2,
		`nstrace_rule_errors_total{rule="per-uid"}`:                                   1,
		`nstrace_rule_budget_exceeded_total`:                                          1,
		`nstrace_lost_events_total{cause="ring_full"}`:                                7,
		`nstrace_lost_events_total{cause="pending_full"}`:                             0,
		`nstrace_ring_buffer_fill_ratio`:                                              0.5,
		`nstrace_namespaces{type="net"}`:                                              2,
		`nstrace_namespaces{type="mnt"}`:                                              1,
		`nstrace_namespaces{type="user"}`:                                             0,
	} {
		if got := value(t, after, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if value(t, after, "go_goroutines") < 1 {
		t.Error("no Go runtime metrics")
	}
}

func TestServeRefusesOtherHostsUnlessAsked(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true}, {"localhost:0", true}, {"[::1]:0", true}, {"127.0.0.2:0", true},
		{":0", false}, {"0.0.0.0:0", false}, {"[::]:0", false}, {"192.0.2.1:9464", false}, {"example.org:9464", false},
	} {
		err := checkLoopback(c.addr)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.addr, err)
		}
		if err != nil && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: %v is not ErrNotLoopback", c.addr, err)
		}
	}
	if _, err := New().Serve("0.0.0.0:0", false); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Serve on all interfaces: %v", err)
	}
}

// Counting an event allocates nothing once its label sets have been seen.
func BenchmarkEvent(b *testing.B) {
	m := New()
	ev := &event.Event{Kind: event.Setns, Changes: []event.Change{{Type: event.Net, Action: event.Join}}}
	b.ReportAllocs()
	for b.Loop() {
		m.Event(ev)
	}
}
