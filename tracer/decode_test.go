package tracer

import (
	"reflect"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/caps"
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
		Pid: 10, Tid: 11, Ppid: 9, Uid: 1000, Kind: uint8(event.Unshare), NrChanges: 1, Comm: commOf("ip"), UserNs: 4026531837,
		Auid: 1000, Caps: caps.SysAdminMask, WhereMnt: 4026531841, WherePid: 4026531836, WhereUts: 4026532177, WhereIpc: 4026531839}
	r.Changes[0] = gen.NstraceChange{ToId: 42, From: 4026531833, To: 4026532178, Type: uint8(event.Net), Action: uint8(event.Create)}
	clock := bootClock{offset: 1_000_000_000_000_000_000}
	var d decoder
	var ev event.Event
	if err := d.decode(rawRecord(r), &clock, &ev); err != nil {
		t.Fatal(err)
	}
	want := event.Event{Time: time.Unix(0, 1_000_000_005_000_000_123), Kind: event.Unshare, Pid: 10, Tid: 11, Ppid: 9,
		UID: 1000, Comm: "ip", Flags: syscall.CLONE_NEWNET, CgroupID: 77, UserNS: 4026531837,
		Auid: 1000, Caps: caps.SysAdminMask, HasCreds: true,
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532178, NsID: 42}}}
	if got, w := string(ev.AppendJSON(nil)), string(want.AppendJSON(nil)); got != w {
		t.Errorf("decoded\n %s\nwant\n %s", got, w)
	}
	var where [event.NumNsTypes]uint32
	where[event.Mnt], where[event.Pid], where[event.UTS], where[event.IPC] = 4026531841, 4026531836, 4026532177, 4026531839
	if ev.Where != where {
		t.Errorf("where %v, want %v", ev.Where, where)
	}
}

// Each record's comm is its own, whether it repeats the one before, comes
// back after another, is empty, or fills all 16 bytes without a NUL.
func TestDecodeNamesEachRecordsComm(t *testing.T) {
	var d decoder
	var ev event.Event
	full := commOf("")
	for i := range full {
		full[i] = 'f'
	}
	for i, c := range []struct {
		raw  [16]int8
		want string
	}{{commOf("churn"), "churn"}, {commOf("churn"), "churn"}, {commOf("runc"), "runc"}, {commOf("churn"), "churn"},
		{commOf(""), ""}, {commOf(""), ""}, {full, "ffffffffffffffff"}, {commOf("runc"), "runc"}} {
		r := gen.NstraceEvent{Kind: uint8(event.Setns), Comm: c.raw}
		if err := d.decode(rawRecord(r), &bootClock{}, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Comm != c.want {
			t.Errorf("record %d: comm %q, want %q", i, ev.Comm, c.want)
		}
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
	benchmarkDecode(b, raw)
}

func cBytes[T ~[]int8](dst T, s string) {
	for i := range min(len(s), len(dst)-1) {
		dst[i] = int8(s[i])
	}
}

// procRecord is a record with a process: every change slot, then the
// process trimmed to its args.
func procRecord(r gen.NstraceEvent) []byte {
	all := unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
	return append([]byte(nil), all[:procOffset+procArgsOffset+int(r.Proc.ArgsLen)]...)
}

func TestDecodeReadsTheProcess(t *testing.T) {
	r := gen.NstraceEvent{Kind: uint8(event.Setns), Pid: 7, Tid: 7, Comm: commOf("x"), HasProc: uint8(gen.NstraceProcFormPROC_WHOLE), Auid: event.NoAuid}
	r.Proc = gen.NstraceProc{ExecId: 99, Tgid: 7, NrAncestors: 2,
		Flags: uint8(gen.NstraceProcFlagPROC_FROM_OUTSIDE | gen.NstraceProcFlagPROC_ARGS_CUT)}
	cBytes(r.Proc.Exe[:], "/tmp/x")
	cBytes(r.Proc.ExeArg[:], "./x")
	args := "./x\x00/proc/1/ns/net\x00"
	cBytes(r.Proc.Args[:], args)
	r.Proc.ArgsLen = uint16(len(args))
	r.Proc.Ancestors[0].Pid = 6
	cBytes(r.Proc.Ancestors[0].Comm[:], "sh")
	cBytes(r.Proc.Ancestors[0].Exe[:], "/usr/bin/dash")
	r.Proc.Ancestors[1].Pid = 1
	cBytes(r.Proc.Ancestors[1].Comm[:], "systemd")
	var d decoder
	var ev event.Event
	if err := d.decode(procRecord(r), &bootClock{}, &ev); err != nil {
		t.Fatal(err)
	}
	want := event.Process{Exe: "/tmp/x", ExeArg: "./x", Args: []string{"./x", "/proc/1/ns/net"},
		Ancestors: []event.Ancestor{{Pid: 6, Comm: "sh", Exe: "/usr/bin/dash"}, {Pid: 1, Comm: "systemd"}},
		Truncated: []string{"args"}, Role: event.RoleExec}
	if ev.Process == nil || !reflect.DeepEqual(*ev.Process, want) {
		t.Errorf("process %+v, want %+v", ev.Process, want)
	}
	if ev.Auid != event.NoAuid || !ev.HasCreds {
		t.Errorf("auid %d (creds %v), want unset", ev.Auid, ev.HasCreds)
	}
	first := ev.Process
	if err := d.decode(procRecord(r), &bootClock{}, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Process != first {
		t.Error("a second event of one exec decoded its process again")
	}
	raw := procRecord(r)
	if err := d.decode(raw[:len(raw)-1], &bootClock{}, &ev); err == nil {
		t.Error("a record cut inside its args: no error")
	}
	// Later records of the image name it only.
	ref := r
	ref.HasProc = uint8(gen.NstraceProcFormPROC_REF)
	ref.ProcTgid, ref.ProcExecId = r.Proc.Tgid, r.Proc.ExecId
	ref.Proc = gen.NstraceProc{}
	refRaw := procRecord(ref)[:headerSize]
	if err := d.decode(refRaw, &bootClock{}, &ev); err != nil || ev.Process != first {
		t.Errorf("a reference decoded to %p (%v), want %p", ev.Process, err, first)
	}
	ref.ProcExecId++
	if err := d.decode(procRecord(ref)[:headerSize], &bootClock{}, &ev); err != nil || ev.Process != nil {
		t.Errorf("a reference to an unknown image decoded to %+v (%v)", ev.Process, err)
	}
	if d.procs.Misses() != 1 {
		t.Errorf("%d misses, want 1", d.procs.Misses())
	}
}

// An event with a process whose image was seen before allocates nothing.
func BenchmarkDecodeWithProcess(b *testing.B) {
	r := gen.NstraceEvent{Kind: uint8(event.Setns), NrChanges: 1, Comm: commOf("churn"), HasProc: uint8(gen.NstraceProcFormPROC_WHOLE)}
	r.Proc = gen.NstraceProc{ExecId: 5, Tgid: 9, NrAncestors: 3}
	cBytes(r.Proc.Exe[:], "/usr/bin/churn")
	raw := procRecord(r)
	benchmarkDecode(b, raw)
}

// benchmarkDecode decodes raw into one reused event, again and again.
func benchmarkDecode(b *testing.B, raw []byte) {
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

// The churn case: a record that names its process by reference, the
// image sent whole before.
func BenchmarkDecodeReference(b *testing.B) {
	r := gen.NstraceEvent{Kind: uint8(event.Setns), NrChanges: 1, Comm: commOf("churn"), HasProc: uint8(gen.NstraceProcFormPROC_WHOLE),
		Auid: event.NoAuid, Caps: 1<<41 - 1, WhereMnt: 4026531841, WherePid: 4026531836, WhereUts: 4026531838, WhereIpc: 4026531839}
	r.Changes[0] = gen.NstraceChange{ToId: 1, From: 4026532177, To: 4026531838, Type: uint8(event.UTS), Action: uint8(event.Join)}
	r.Proc = gen.NstraceProc{ExecId: 5, Tgid: 9, NrAncestors: 3}
	cBytes(r.Proc.Exe[:], "/usr/bin/churn")
	var d decoder
	var ev event.Event
	if err := d.decode(procRecord(r), &bootClock{}, &ev); err != nil {
		b.Fatal(err)
	}
	ref := r
	ref.HasProc = uint8(gen.NstraceProcFormPROC_REF)
	ref.ProcTgid, ref.ProcExecId = r.Proc.Tgid, r.Proc.ExecId
	ref.Proc = gen.NstraceProc{}
	raw := rawRecord(ref)
	clock := newBootClock()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.decode(raw, &clock, &ev); err != nil || ev.Process == nil {
			b.Fatal(err)
		}
	}
}
