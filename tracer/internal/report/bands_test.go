package report

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestEventsPastTheLimitAreCountedInBands(t *testing.T) {
	b := NewBuilder(Options{MaxEvents: 2})
	at := func(ms int64) time.Time { return time.Unix(100, ms*int64(time.Millisecond)) }
	join := func(ms int64, pid uint32) *event.Event {
		return &event.Event{Time: at(ms), Kind: event.Setns, Pid: pid, Tid: pid, Comm: "nsenter",
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 0xEFFFFFF9, To: 4026532300, NsID: 30}}}
	}
	write(t, b, join(0, 1), join(1, 2)) // kept one by one
	write(t, b, join(2, 3))
	b.Alert("net-entered", "notice", "on an event folded into a band", join(2, 3))
	write(t, b, join(2, 4), join(5, 5)) // 2 ms and 5 ms: two 1 ms bands
	write(t, b, &event.Event{Time: at(5), Kind: event.Unshare, Pid: 6, Tid: 6, Comm: "unshare", UID: 1000,
		Errno: syscall.EPERM, Flags: 0x40000000})
	write(t, b, &event.Event{Time: at(9), Kind: event.Lost, Lost: 7})
	r := b.Report()

	if len(r.events) != 2 {
		t.Errorf("%d events kept one by one, want 2", len(r.events))
	}
	if r.Summary.Events != 6 || r.Summary.Lost != 7 || r.Summary.Failed != 1 {
		t.Errorf("summary counts %d events, %d lost, %d failed; want 6, 7, 1", r.Summary.Events, r.Summary.Lost, r.Summary.Failed)
	}
	if !r.Start.Equal(at(0)) || !r.End.Equal(at(9)) {
		t.Errorf("the time axis runs %v to %v, want %v to %v", r.Start, r.End, at(0), at(9))
	}
	d := r.dataBands()
	var got []string
	for i := 0; i < len(d.Marks); i += 4 {
		m := d.Marks[i : i+4]
		got = append(got, fmt.Sprintf("%s@%dms:%s×%d", r.Lanes[m[0]].Label, m[1]/1e6, laneClassWords[m[2]], m[3]))
	}
	want := "unnamed@2ms:join×2 unnamed@5ms:join×1 failed attempts@5ms:failed×1 records lost@9ms:lost×1"
	if d.Width != 1e6 || d.Events != 5 || strings.Join(got, " ") != want {
		t.Errorf("bands of %d ns for %d events: %q\nwant bands of 1000000 ns for 5 events: %q", d.Width, d.Events, got, want)
	}
	if len(r.Alerts) != 1 || r.Alerts[0].Event != -1 || !r.Alerts[0].Time.Equal(at(2)) {
		t.Errorf("the alert on a banded event: %+v, want listed at %v with no event", r.Alerts, at(2))
	}
	if got := r.Lanes[0].Marks.Join; got != 5 {
		t.Errorf("the lane counts %d joins, want 5", got)
	}
}

var laneClassWords = [...]string{"lost", "join", "destroy", "create", "failed"}

func TestBandsWidenToStayBounded(t *testing.T) {
	b := newBands()
	for i := range int64(10) {
		b.add(0, markJoin, i*int64(time.Millisecond))
	}
	b.add(1, markCreate, -int64(time.Millisecond)) // before the first folded event: slot -1
	b.widen()
	b.widen()
	want := map[bandKey]int{{0, markJoin, 0}: 4, {0, markJoin, 1}: 4, {0, markJoin, 2}: 2, {1, markCreate, -1}: 1}
	if b.width != 4e6 || fmt.Sprint(b.n) != fmt.Sprint(want) {
		t.Errorf("after widening twice: %d ns, %v; want 4000000 ns, %v", b.width, b.n, want)
	}
}

// A page whose events mostly come in bands, and whose namespaces mostly
// share folded lanes, draws, clusters them with their counts, and stays
// responsive.
func TestAPageWithBandsRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := NewBuilder(Options{MaxEvents: 5_000, MaxLanes: 2_000})
	synthEvents(50_000, func(ev *event.Event) {
		if err := b.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	})
	r := b.Report()
	page := savePage(t, "bands.html", r)
	dom, log := browse(t, page, "file://"+page+"#selftest", "--dump-dom")
	st := checkRendered(t, dom, log)
	if got, want := st["data-selftest"], "cluster tooltip details fold"; got != want {
		t.Errorf("hovering, clicking and folding: %q work, want %q", got, want)
	}
	drawn := 0
	for _, el := range elementRe.FindAllStringSubmatch(dom, -1) {
		if a := attrs(el[2]); strings.HasPrefix(a["class"], "mark cluster") {
			for _, kv := range strings.Split(a["data-mix"], ",") {
				_, v, _ := strings.Cut(kv, ":")
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("cluster mix %q: %v", a["data-mix"], err)
				}
				drawn += n
			}
		}
	}
	if drawn == 0 {
		t.Error("no clusters drawn from the bands")
	}
	// They come last in their groups: a search brings them up.
	dom, log = browse(t, page, "file://"+page+"#search=counted%20together", "--dump-dom")
	checkRendered(t, dom, log)
	if n := strings.Count(dom, `data-kind="folded"`); n != 5 {
		t.Errorf("%d folded lanes drawn, want one for each of the 5 types past the lane limit", n)
	}
	t.Logf("50 000 events, 5 000 kept: %s redraws, the slowest %s ms", st["data-redraws"], st["data-redraw-max-ms"])
}

// Many lanes of one mark each do not merge by widening: the bound grows
// instead of widening again and again.
func TestBandsOfManyLanesGrowTheirBound(t *testing.T) {
	b := newBands()
	for lane := range int32(maxBands + 1) {
		b.add(lane, markCreate, int64(lane)) // all in the first slot
	}
	if len(b.n) != maxBands+1 || b.width != 2e6 || b.limit != 2*(maxBands+1) {
		t.Errorf("%d bands of %d ns, bound %d; want %d of 2000000 ns, bound %d", len(b.n), b.width, b.limit, maxBands+1, 2*(maxBands+1))
	}
}

// Past MaxLanes, new namespaces get no lane of their own: each type's
// share one folded lane that counts their marks, the summary still counts
// them, and the Builder keeps nothing of each.
func TestNamespacesPastTheLaneLimitAreFolded(t *testing.T) {
	b := NewBuilder(Options{MaxLanes: 3}) // the host's, where the joins come from, and two
	at := time.Unix(100, 0)
	for i := range uint32(5) {
		ino, id := 4026532300+i, uint64(30+i)
		write(t, b, &event.Event{Time: at.Add(time.Duration(i) * time.Millisecond), Kind: event.Unshare, Pid: 10 + i, Tid: 10 + i,
			Comm: "unshare", Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 0xEFFFFFF9, To: ino, NsID: id}}})
		write(t, b, &event.Event{Time: at.Add(time.Duration(i)*time.Millisecond + 1), Kind: event.Setns, Pid: 20 + i, Tid: 20 + i,
			Comm: "nsenter", Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 0xEFFFFFF9, To: ino, NsID: id}}})
	}
	maps := len(b.byID) + len(b.byInode) + len(b.lastIno)
	r := b.Report()
	if got := structure(r); got != "group net\n"+
		"  lane net 4026531833 host: no marks\n"+
		"  lane net 4026532300 by unshare[10]: create 1, join 1\n"+
		"  lane net 4026532301 by unshare[11]: create 1, join 1\n"+
		"  lane more net namespaces: 3 created past the first 3 namespaces, counted together: create 3, join 3\n" {
		t.Errorf("lanes:\n%s", got)
	}
	if s := r.Summary; s.Namespaces != 6 || s.Created != 5 || s.Folded != 3 || len(s.ByType) != 1 || s.ByType[0].Namespaces != 6 {
		t.Errorf("summary: %d namespaces, %d created, %d folded, by type %+v; want 6, 5, 3 and net 6", s.Namespaces, s.Created, s.Folded, s.ByType)
	}
	if maps != 7 { // the host's by inode; the two created by id, by inode and by inode of any type
		t.Errorf("the Builder indexes %d entries, want 7: nothing of a folded namespace", maps)
	}
}

// Past MaxAlerts, alerts are counted by rule, not listed: the summary's
// counts hold every one.
func TestAlertsPastTheLimitAreCountedByRule(t *testing.T) {
	b := NewBuilder(Options{MaxAlerts: 2})
	for i, rule := range []string{"a", "b", "a", "a", "b", "c"} {
		b.Alert(rule, "warning", "message "+strconv.Itoa(i), nil)
	}
	r := b.Report()
	var listed []string
	for _, a := range r.Alerts {
		listed = append(listed, a.Rule+":"+a.Message)
	}
	if got := strings.Join(listed, " "); got != "a:message 0 b:message 1" || r.Unlisted != 4 {
		t.Errorf("listed %q and %d more, want a:message 0 b:message 1 and 4 more", got, r.Unlisted)
	}
	if got := fmt.Sprint(r.ByRule); got != "[{a warning 3} {b warning 2} {c warning 1}]" {
		t.Errorf("by rule %s, want a×3 b×2 c×1", got)
	}
	if n := r.Lanes[b.special[AlertLane]].Marks.Alert; n != 2 {
		t.Errorf("the alert lane counts %d marks, want the 2 listed", n)
	}

	// Enough to be folded into counts as they come.
	b = NewBuilder(Options{MaxAlerts: 1})
	for i := range 5000 {
		b.Alert([]string{"x", "y"}[i%2], []string{"notice", "critical"}[i%2], "m", nil)
	}
	if r := b.Report(); fmt.Sprint(r.ByRule) != "[{x notice 2500} {y critical 2500}]" || r.Unlisted != 4999 {
		t.Errorf("5000 alerts: by rule %v, %d unlisted; want x×2500 y×2500, 4999", r.ByRule, r.Unlisted)
	}
}
