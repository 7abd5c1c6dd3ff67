package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/session"
)

func TestTheFixtureReportHasTheExpectedLanesLabelsAndMarks(t *testing.T) {
	golden(t, "session.structure", structure(buildReport(t, fixture)))
}

func TestTheSummaryCountsWhatTheTimelineShows(t *testing.T) {
	r := buildReport(t, fixture)
	marks := 0
	for _, l := range r.Lanes {
		marks += l.Marks.Create + l.Marks.Join + l.Marks.Destroy
	}
	changes := 0
	for _, c := range r.Summary.ByAction {
		if c.Name != "failed" {
			changes += c.N
		}
	}
	if marks != changes {
		t.Errorf("lanes hold %d create/join/destroy marks, the summary counts %d changes", marks, changes)
	}
	failedMarks := 0
	for _, l := range r.Lanes {
		failedMarks += l.Marks.Failed
	}
	if failedMarks != r.Summary.Failed || r.Summary.Failed == 0 {
		t.Errorf("failed marks %d, summary %d (the fixture has a denied unshare)", failedMarks, r.Summary.Failed)
	}
	if len(r.Sessions) != 1 || r.Sessions[0].Host == "" || r.Sessions[0].Kernel == "" || len(r.Sessions[0].Hooks) == 0 {
		t.Errorf("session facts missing: %+v", r.Sessions)
	}
}

// laneCase feeds events to a Builder and expects lanes.
type laneCase struct {
	name   string
	events []*event.Event
	want   string // structure
}

func TestLanesFollowNamespacesNotInodes(t *testing.T) {
	at := func(ms int) time.Time { return time.Date(2026, 11, 29, 3, 0, 0, ms*1e6, time.UTC) }
	ev := func(ms int, kind event.Kind, changes ...event.Change) *event.Event {
		return &event.Event{Time: at(ms), Kind: kind, Pid: 10, Tid: 10, Ppid: 1, Comm: "sh", Changes: changes}
	}
	const hostNet, a, b = 0xEFFFFFF9, 4026532200, 4026532201
	for _, c := range []laneCase{{
		name: "an inode reused by a new namespace (another ns_id) gets its own lane",
		events: []*event.Event{
			ev(1, event.Unshare, event.Change{Type: event.Net, Action: event.Create, From: hostNet, To: a, NsID: 7}),
			ev(2, event.Unshare, event.Change{Type: event.Net, Action: event.Create, From: hostNet, To: a, NsID: 9}),
			ev(3, event.Setns, event.Change{Type: event.Net, Action: event.Join, From: hostNet, To: a, NsID: 7}),
		},
		want: "group net\n  lane net 4026531833 host: no marks\n  lane net 4026532200 by sh[10]: create 1, join 1\n  lane net 4026532200 by sh[10]: create 1\n",
	}, {
		name: "without ns_ids, a create after a destroy starts a new lane",
		events: []*event.Event{
			ev(1, event.Unshare, event.Change{Type: event.Net, Action: event.Create, From: hostNet, To: a}),
			ev(2, event.Destroy, event.Change{Type: event.Net, Action: event.ActionDestroy, To: a}),
			ev(3, event.Unshare, event.Change{Type: event.Net, Action: event.Create, From: hostNet, To: a}),
			ev(4, event.Setns, event.Change{Type: event.Net, Action: event.Join, From: hostNet, To: a}),
		},
		want: "group net\n  lane net 4026531833 host: no marks\n  lane net 4026532200 by sh[10]: create 1, destroy 1\n  lane net 4026532200 by sh[10]: create 1, join 1\n",
	}, {
		name: "pid_for_children and pid are one namespace, one lane",
		events: []*event.Event{
			ev(1, event.Unshare, event.Change{Type: event.PidForChildren, Action: event.Create, From: 0xEFFFFFFC, To: b, NsID: 3}),
			ev(2, event.Clone, event.Change{Type: event.Pid, Action: event.Join, From: 0xEFFFFFFC, To: b, NsID: 3}),
		},
		want: "group pid\n  lane pid 4026531836 host: no marks\n  lane pid 4026532201 by sh[10]: create 1, join 1\n",
	}, {
		name: "a namespace first met as where a process came from takes its id when joined",
		events: []*event.Event{
			ev(1, event.Setns, event.Change{Type: event.Net, Action: event.Join, From: a, To: hostNet, NsID: 2}),
			ev(2, event.Setns, event.Change{Type: event.Net, Action: event.Join, From: hostNet, To: a, NsID: 8}),
		},
		want: "group net\n  lane net 4026531833 host: join 1\n  lane net 4026532200 unnamed: join 1\n",
	}, {
		name: "a failed setns marks the namespace it aimed at; a failed unshare the attempts lane",
		events: []*event.Event{
			{Time: at(1), Kind: event.Setns, Pid: 5, Comm: "nsenter", Errno: syscall.EPERM, Flags: unix.CLONE_NEWNET,
				Target: &event.Target{Type: event.Net, Inode: a}},
			{Time: at(2), Kind: event.Unshare, Pid: 6, Comm: "unshare", Errno: syscall.EPERM, Flags: unix.CLONE_NEWUSER},
		},
		want: "group attention\n  lane failed attempts: failed 1\ngroup net\n  lane net 4026532200 unnamed: failed 1\n",
	}, {
		name: "names, host and containers from resolution label the lane",
		events: []*event.Event{
			ev(1, event.Unshare, event.Change{Type: event.Net, Action: event.Create, From: hostNet, To: a, NsID: 4, Name: `web "prod"`}),
			ev(2, event.Unshare, event.Change{Type: event.UTS, Action: event.Create, From: 0xEFFFFFFE, To: b, NsID: 5,
				Container: &event.Container{ID: "4f2a9c1b7d3e4f2a9c1b7d3e", Runtime: "docker"}}),
		},
		want: "group net\n  lane net 4026532200 \"web \\\"prod\\\"\": create 1\n" +
			"group uts\n  lane uts 4026532201 ctr 4f2a9c1b7d3e…: create 1\n",
	}, {
		name: "a namespace the resolver knows, left before it is entered, is one lane",
		events: []*event.Event{
			ev(1, event.Setns, event.Change{Type: event.UTS, Action: event.Join, From: 0xEFFFFFFE, To: b, NsID: 40}),
			ev(2, event.Setns, event.Change{Type: event.UTS, Action: event.Join, From: b, To: 0xEFFFFFFE, NsID: 1, Host: true}),
		},
		want: "group uts\n  lane uts 4026531838 host: join 1\n  lane uts 4026532201 unnamed: join 1\n",
	}} {
		t.Run(c.name, func(t *testing.T) {
			b := NewBuilder(Options{Lookup: func(t event.NsType, ino uint32) (inventory.Namespace, bool) {
				if t == event.UTS && ino == 0xEFFFFFFE {
					return inventory.Namespace{Type: t, Inode: ino, NsID: 1, Host: true}, true
				}
				return inventory.Namespace{}, false
			}})
			for _, e := range c.events {
				if err := b.WriteEvent(e); err != nil {
					t.Fatal(err)
				}
			}
			if got := structure(b.Report()); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}

func TestALifelineEndsWhereItsInodeIsReused(t *testing.T) {
	b := NewBuilder(Options{})
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	write(t, b, &event.Event{Time: at(1), Kind: event.Unshare, Pid: 3, Comm: "ip",
		Changes: []event.Change{{Type: event.Mnt, Action: event.Create, From: 0xEFFFFFF8, To: 4026532319, NsID: 20}}})
	write(t, b, &event.Event{Time: at(5), Kind: event.Unshare, Pid: 4, Comm: "unshare",
		Changes: []event.Change{{Type: event.UTS, Action: event.Create, From: 0xEFFFFFFE, To: 4026532319, NsID: 21}}})
	r := b.Report()
	if got := r.Lanes[0].Reused; !got.Equal(at(5)) {
		t.Errorf("the mnt namespace whose inode a uts namespace took ends at %v, want %v", got, at(5))
	}
	if !r.Lanes[1].Reused.IsZero() {
		t.Errorf("the uts namespace ends at %v, want open", r.Lanes[1].Reused)
	}
}

func TestAlertsMarkTheirTriggerAreCountedByRuleAndFollowTheFilter(t *testing.T) {
	b := NewBuilder(Options{})
	ev := &event.Event{Time: time.Unix(100, 0), Kind: event.Setns, Pid: 7, Tid: 7, Comm: "nsenter",
		Changes: []event.Change{{Type: event.Mnt, Action: event.Join, From: 0xEFFFFFF8, To: 4026532300}}}
	write(t, b, ev)
	b.Alert("host-mount-ns-entered", "high", "nsenter entered a container's mount namespace", ev)
	b.Alert("host-mount-ns-entered", "high", "again", ev)
	filtered := &event.Event{Time: time.Unix(100, 5), Pid: 1}
	b.Alert("orphan", "notice", "its trigger is filtered out", filtered)
	next := &event.Event{Time: time.Unix(101, 0), Kind: event.Unshare, Pid: 8, Tid: 8, Comm: "unshare",
		Changes: []event.Change{{Type: event.User, Action: event.Create, From: 0xEFFFFFFD, To: 4026532301}}}
	b.Alert("early", "warning", "raised before its event reached the report", next)
	write(t, b, next)
	b.Alert("no-trigger", "info", "about no event", nil)
	r := b.Report()
	var got []string
	for _, a := range r.Alerts {
		got = append(got, fmt.Sprintf("%s@%d", a.Rule, a.Event))
	}
	if want := "host-mount-ns-entered@0 host-mount-ns-entered@0 early@1 no-trigger@-1"; strings.Join(got, " ") != want {
		t.Errorf("alerts %q, want %q", got, want)
	}
	if len(r.ByRule) != 3 || r.ByRule[0] != (Counts{Name: "host-mount-ns-entered", Severity: "high", N: 2}) {
		t.Errorf("by rule: %+v", r.ByRule)
	}
	if got := structure(r); !strings.Contains(got, "lane alerts: alert 4\n") {
		t.Errorf("no alert lane with 4 marks:\n%s", got)
	}
}

func TestAFilteredReportShowsOnlyWhatTheFilterKeeps(t *testing.T) {
	f, err := filter.New(filter.Options{Types: []event.NsType{event.Net}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := session.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := NewBuilder(Options{})
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Keep(ev) {
			write(t, b, ev)
		}
	}
	rep := b.Report()
	for _, g := range rep.Groups {
		if g.Name != "net" && g.Name != "attention" {
			t.Errorf("--type net report has a %s group", g.Name)
		}
	}
	if rep.Summary.Namespaces == 0 {
		t.Error("--type net report has no namespaces")
	}
}

var externalRef = regexp.MustCompile(`(?i)(\bsrc\s*=|<link\b|@import|url\(\s*['"]?(https?:|//)|https?://)`)

// svgNamespace is a name, not an address: nothing is fetched from it.
const svgNamespace = "http://www.w3.org/2000/svg"

func TestThePageIsSelfContained(t *testing.T) {
	page := writePage(t, buildReport(t, fixture))
	if m := externalRef.Find(bytes.ReplaceAll(page, []byte(svgNamespace), nil)); m != nil {
		t.Errorf("the page refers outside itself: %q", m)
	}
	if n := bytes.Count(page, []byte("<script")); n != 2 {
		t.Errorf("%d script elements, want 2 (the data and the code)", n)
	}
	csp := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`).FindSubmatch(page)
	if csp == nil {
		t.Fatal("no Content-Security-Policy")
	}
	policy := html.UnescapeString(string(csp[1]))
	for _, want := range []string{"default-src 'none'", "script-src " + sha(pageJS), "style-src " + sha(pageCSS)} {
		if !strings.Contains(policy, want) {
			t.Errorf("policy %q lacks %q", policy, want)
		}
	}
	// The policy's hashes must be of what the page holds, byte for byte.
	for _, body := range []string{pageJS, pageCSS} {
		if !bytes.Contains(page, []byte(">"+body+"</")) {
			t.Errorf("the page does not hold its script or style verbatim (%d bytes)", len(body))
		}
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// hostile is what a process or a namespace's owner can choose.
var hostile = []string{
	`<img src=x onerror=alert(1)>`,
	`</script><script>alert(2)</script>`,
	"line\u2028break\u2029<!--",
	`"><svg onload=alert(3)>`,
	"\x1b[31mred\x1b[0m & \u202egnp.exe",
}

func hostileReport(t testing.TB) *Report {
	b := NewBuilder(Options{})
	b.Session(&session.Header{Session: "x", Host: hostile[0], Kernel: hostile[1], Filter: hostile[3],
		Hooks: []session.Hook{{Name: hostile[2], Attached: true, Error: hostile[3]}}})
	for i, s := range hostile {
		write(t, b, &event.Event{Time: time.Unix(int64(100+i), 0), Kind: event.Unshare, Pid: uint32(50 + i), Comm: s,
			Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 0xEFFFFFF9, To: uint32(4026532400 + i),
				Name: s, Container: &event.Container{ID: s, Name: s, Runtime: s}}}})
		write(t, b, &event.Event{Time: time.Unix(int64(100+i), 5), Kind: event.Setns, Pid: uint32(60 + i), Comm: s,
			Errno: syscall.EPERM, Flags: unix.CLONE_NEWNET})
		b.Alert(s, s, s, nil)
	}
	r := b.Report()
	r.Title, r.Files, r.Warnings = hostile[4], []string{hostile[0]}, []string{hostile[1]}
	return r
}

func TestHostileCommsAndNamesCannotInjectMarkup(t *testing.T) {
	page := writePage(t, hostileReport(t))
	for _, raw := range []string{"<img", "<svg onload", "alert(2)</script>", "<!--", "\u2028", "\u2029", "\u202e", "\x1b"} {
		if bytes.Contains(page, []byte(raw)) {
			t.Errorf("the page holds %q raw", raw)
		}
	}
	if n := bytes.Count(page, []byte("<script")); n != 2 {
		t.Errorf("%d script elements, want 2", n)
	}
	// The data still says what the processes chose, escaped.
	m := regexp.MustCompile(`(?s)<script type="application/json" id="nstrace-data">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no data element")
	}
	var data struct {
		Meta struct {
			Strings []string  `json:"strings"`
			Lanes   [][]int64 `json:"lanes"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(m[1], &data); err != nil {
		t.Fatalf("the data does not parse: %v", err)
	}
	joined := strings.Join(data.Meta.Strings, "\n")
	for _, want := range []string{`<img src=x onerror=alert(1)>`, `\x1b[31mred`, `\u202egnp.exe`, `line\u2028break`} {
		if !strings.Contains(joined, want) {
			t.Errorf("the comms lost %q: %q", want, joined)
		}
	}
	quoted := false
	label := slices.Index(laneColumns, "label")
	for _, l := range data.Meta.Lanes {
		quoted = quoted || strings.HasPrefix(data.Meta.Strings[l[label]], `"\"><svg onload=alert(3)>" ctr `)
	}
	if !quoted {
		t.Errorf("no lane labelled with the hostile name quoted, its quote escaped: %+v", data.Meta.Lanes)
	}
}

func TestTheDataCannotLeaveItsScriptElement(t *testing.T) {
	r := hostileReport(t)
	data, err := r.appendData(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"<", ">", "&", "\u2028", "\u2029"} {
		if bytes.Contains(data, []byte(c)) {
			t.Errorf("the data holds %q raw", c)
		}
	}
	if !json.Valid(data) {
		t.Error("the data is not valid JSON")
	}
}

func BenchmarkReport(b *testing.B) {
	path := writeSynthSession(b, 100_000)
	var size int
	b.Run("read+resolve+detect+build", func(b *testing.B) {
		for b.Loop() {
			buildReport(b, path)
		}
	})
	r := buildReport(b, path)
	b.Run("write-html", func(b *testing.B) {
		for b.Loop() {
			var n countingWriter
			if err := WriteHTML(&n, r, "bench"); err != nil {
				b.Fatal(err)
			}
			size = int(n)
		}
		b.ReportMetric(float64(size)/1e6, "MB/page")
	})
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// write gives b the events, failing the test on an error.
func write(tb testing.TB, b *Builder, evs ...*event.Event) {
	tb.Helper()
	for _, e := range evs {
		if err := b.WriteEvent(e); err != nil {
			tb.Fatal(err)
		}
	}
}
