package tracer

import (
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
)

// rawRecord builds the bytes the BPF side sends: header plus used changes.
func rawRecord(r gen.NstraceEvent) []byte {
	all := unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
	return append([]byte(nil), all[:headerSize+int(r.NrChanges)*changeSize]...)
}

func commOf(s string) (c [16]int8) {
	for i := range min(len(s), 15) {
		c[i] = int8(s[i])
	}
	return c
}

func TestDecodeTurnsARecordIntoAnEvent(t *testing.T) {
	r := gen.NstraceEvent{BootNs: 5_000_000_123, Flags: syscall.CLONE_NEWNET, CgroupId: 77,
		Pid: 10, Tid: 11, Ppid: 9, Uid: 1000, Kind: uint8(event.Unshare), NrChanges: 1, Comm: commOf("ip"), UserNs: 4026531837}
	r.Changes[0] = gen.NstraceChange{ToId: 42, From: 4026531833, To: 4026532178, Type: uint8(event.Net), Action: uint8(event.Create)}
	clock := bootClock{offset: 1_000_000_000_000_000_000}
	var d decoder
	var ev event.Event
	if err := d.decode(rawRecord(r), &clock, &ev); err != nil {
		t.Fatal(err)
	}
	want := event.Event{Time: time.Unix(0, 1_000_000_005_000_000_123), Kind: event.Unshare, Pid: 10, Tid: 11, Ppid: 9,
		UID: 1000, Comm: "ip", Flags: syscall.CLONE_NEWNET, CgroupID: 77, UserNS: 4026531837,
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532178, NsID: 42}}}
	if got, w := string(ev.AppendJSON(nil)), string(want.AppendJSON(nil)); got != w {
		t.Errorf("decoded\n %s\nwant\n %s", got, w)
	}
}

func TestDecodeRejectsShortRecords(t *testing.T) {
	r := gen.NstraceEvent{Kind: uint8(event.Unshare), NrChanges: 2}
	raw := rawRecord(r)
	var d decoder
	var ev event.Event
	for _, n := range []int{0, headerSize - 1, headerSize + changeSize} {
		if err := d.decode(raw[:n], &bootClock{}, &ev); err == nil {
			t.Errorf("%d bytes: no error", n)
		}
	}
}

// The hot path: decoding a record into a reused event allocates nothing.
func BenchmarkDecode(b *testing.B) {
	r := gen.NstraceEvent{Kind: uint8(event.Setns), NrChanges: 1, Comm: commOf("churn")}
	raw := rawRecord(r)
	var d decoder
	var ev event.Event
	clock := newBootClock()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.decode(raw, &clock, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
