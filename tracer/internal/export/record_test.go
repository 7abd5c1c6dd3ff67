package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/export"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// plainJSON decodes b the way the sink's records are compared.
func plainJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func readFirstLine(t *testing.T, paths ...string) string {
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// TestRecordContents sends one record of each kind through the collector
// and checks every field that arrived: the body is the event's JSON, the
// attributes and resource are exactly the expected ones.
func TestRecordContents(t *testing.T) {
	s := testenv.StartOTLPSink(t)
	c := testenv.StartCollector(t, s.URL, nil)
	e, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), Insecure: true, SpoolDir: t.TempDir(), Version: "1.2.3"})

	ctr := &event.Container{ID: "3f2a9c8e71d04b6f", Runtime: "docker", Name: "web"}
	withCtr := unshare(7)
	withCtr.Container = ctr
	withCtr.Comm = "runc:[2:INIT]\x1b"
	withCtr.UID = 1000
	withCtr.Changes[0].Name = "blue"
	withCtr.Changes[0].Container = ctr
	withCtr.Changes = append(withCtr.Changes, event.Change{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532300, Owner: 4026531837})
	failed := &event.Event{Time: baseTime.Add(time.Second), Kind: event.Setns, Pid: 77, Tid: 78, Ppid: 76, UID: 0, Comm: "nsenter",
		Flags: syscall.CLONE_NEWNET, Errno: syscall.EPERM, Target: &event.Target{Type: event.Net, Inode: 4026532999}}
	clone := &event.Event{Time: baseTime.Add(2 * time.Second), Kind: event.Clone, Pid: 80, Tid: 80, Ppid: 79, Comm: "unshare",
		Flags: syscall.CLONE_NEWPID, Changes: []event.Change{{Type: event.Pid, Action: event.Create, From: 4026531836, To: 4026532400, NsID: 1 << 40}}}
	lost := &event.Event{Time: baseTime.Add(3 * time.Second), Kind: event.Lost, Lost: 12}
	destroy := &event.Event{Time: baseTime.Add(4 * time.Second), Kind: event.Destroy,
		Changes: []event.Change{{Type: event.Net, Action: event.ActionDestroy, To: 4026532000}}}
	flood := &event.Event{Time: baseTime.Add(7 * time.Second), Kind: event.Flood, UID: 1000, CgroupID: 4242, Comm: "fork-bomb",
		Counted: event.Unshare, Errno: syscall.EPERM, Container: ctr, Count: 90000}
	shutdown := &event.Event{Time: baseTime.Add(8 * time.Second), Kind: event.Lost, Lost: 3, Cause: event.LostShutdown}
	alert := &detect.Alert{Time: baseTime.Add(5 * time.Second), Rule: "cross-container-join", Severity: detect.Critical,
		Message: "nsenter joined web's net namespace", Pid: 77, Tid: 78, Comm: "nsenter", Container: ctr, Joined: ctr, Trigger: failed.Clone()}
	summary := export.Summary{Time: baseTime.Add(6 * time.Second), Events: 5, Filtered: 1, Lost: 12, Alerts: 1}

	before := time.Now()
	for _, ev := range []*event.Event{withCtr, failed, clone, lost, destroy, flood, shutdown} {
		if err := e.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WriteAlert(alert); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteSummary(summary); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	closeExporter(t, e, logs)

	hostname, _ := os.Hostname()
	wantRes := map[string]any{
		"service.name": "nstrace", "service.version": "1.2.3", "host.name": hostname, "os.type": "linux",
		"host.arch": runtime.GOARCH, "os.version": readFirstLine(t, "/proc/sys/kernel/osrelease"),
		"nstrace.host.boot_id": readFirstLine(t, "/proc/sys/kernel/random/boot_id"),
		"host.id":              readFirstLine(t, "/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id"),
	}
	sess := e.SessionID()
	id := func(seq int) string { return recordID(sess, seq) }
	num := func(v uint64) json.Number { return json.Number(strconv.FormatUint(v, 10)) }

	cases := []struct {
		seq       int
		body      []byte
		time      time.Time
		eventName string
		severity  int
		sevText   string
		attrs     map[string]any
	}{
		{1, withCtr.AppendJSON(nil), withCtr.Time, "nstrace.namespace.unshare", 9, "info", map[string]any{
			"nstrace.record.id": id(1), "nstrace.event": "unshare", "process.pid": num(1007), "process.parent_pid": num(1),
			"thread.id": num(1007), "process.command": "runc:[2:INIT]\x1b", "user.id": "1000", "nstrace.cgroup.id": num(4242),
			"container.id": ctr.ID, "container.name": "web", "container.runtime.name": "docker"}},
		{2, failed.AppendJSON(nil), failed.Time, "nstrace.namespace.setns", 9, "info", map[string]any{
			"nstrace.record.id": id(2), "nstrace.event": "setns", "process.pid": num(77), "process.parent_pid": num(76),
			"thread.id": num(78), "process.command": "nsenter", "user.id": "0", "nstrace.error": "EPERM"}},
		{3, clone.AppendJSON(nil), clone.Time, "nstrace.namespace.clone", 9, "info", map[string]any{
			"nstrace.record.id": id(3), "nstrace.event": "clone", "process.pid": num(80), "process.parent_pid": num(79),
			"thread.id": num(80), "process.command": "unshare", "user.id": "0"}},
		{4, lost.AppendJSON(nil), lost.Time, "nstrace.lost", 13, "warning", map[string]any{
			"nstrace.record.id": id(4), "nstrace.event": "lost", "nstrace.lost.count": num(12)}},
		{5, destroy.AppendJSON(nil), destroy.Time, "nstrace.namespace.destroy", 9, "info", map[string]any{
			"nstrace.record.id": id(5), "nstrace.event": "destroy"}},
		{6, flood.AppendJSON(nil), flood.Time, "nstrace.flood", 13, "warning", map[string]any{
			"nstrace.record.id": id(6), "nstrace.event": "flood", "process.command": "fork-bomb", "user.id": "1000",
			"nstrace.cgroup.id": num(4242), "nstrace.error": "EPERM", "container.id": ctr.ID, "container.name": "web",
			"container.runtime.name": "docker", "nstrace.flood.count": num(90000), "nstrace.flood.kind": "unshare"}},
		{7, shutdown.AppendJSON(nil), shutdown.Time, "nstrace.lost", 13, "warning", map[string]any{
			"nstrace.record.id": id(7), "nstrace.event": "lost", "nstrace.lost.count": num(3), "nstrace.lost.cause": "shutdown"}},
		{8, alert.AppendJSON(nil), alert.Time, "nstrace.alert", 17, "critical", map[string]any{
			"nstrace.record.id": id(8), "nstrace.event": "alert", "process.pid": num(77), "thread.id": num(78),
			"process.command": "nsenter", "container.id": ctr.ID, "container.name": "web", "container.runtime.name": "docker",
			"nstrace.alert.rule": "cross-container-join"}},
		{9, []byte(`{"time":"2026-11-29T12:00:06.000000000Z","event":"summary","events":5,"filtered":1,"lost":12,"alerts":1,"export_dropped":0,"export_rejected":0}`),
			summary.Time, "nstrace.summary", 9, "info", map[string]any{"nstrace.record.id": id(9), "nstrace.event": "summary"}},
	}
	if total, distinct := s.Stats(); total != len(cases) || distinct != len(cases) {
		t.Fatalf("%d records arrived (%d distinct); want %d", total, distinct, len(cases))
	}
	for _, tc := range cases {
		r, ok := s.Record(id(tc.seq))
		if !ok {
			t.Fatalf("record %d did not arrive", tc.seq)
		}
		if want := plainJSON(t, tc.body); !reflect.DeepEqual(r.Body, want) {
			t.Errorf("%s body:\n got %#v\nwant %#v", tc.eventName, r.Body, want)
		}
		if !reflect.DeepEqual(r.Attrs, tc.attrs) {
			t.Errorf("%s attributes:\n got %#v\nwant %#v", tc.eventName, r.Attrs, tc.attrs)
		}
		if r.EventName != tc.eventName || r.Severity != tc.severity || r.SeverityText != tc.sevText {
			t.Errorf("record %d: event name %q severity %d %q; want %q %d %q", tc.seq, r.EventName, r.Severity, r.SeverityText,
				tc.eventName, tc.severity, tc.sevText)
		}
		if r.Time != strconv.FormatInt(tc.time.UnixNano(), 10) {
			t.Errorf("%s time %s; want %d", tc.eventName, r.Time, tc.time.UnixNano())
		}
		obs, _ := strconv.ParseInt(r.Observed, 10, 64)
		if obs < before.UnixNano() || obs > after.UnixNano() {
			t.Errorf("%s observed at %d; want within the writes [%d, %d]", tc.eventName, obs, before.UnixNano(), after.UnixNano())
		}
		if !reflect.DeepEqual(r.Resource, wantRes) {
			t.Errorf("resource:\n got %#v\nwant %#v", r.Resource, wantRes)
		}
		if r.Scope != "github.com/nstrace/nstrace/tracer/internal/export" {
			t.Errorf("scope %q", r.Scope)
		}
	}
}
