package tracer

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf/btf"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
)

// The Go mirror of each shared C struct must have the size and field offsets
// that the BPF object's BTF gives, or decoding reads garbage.
func TestGoStructsMatchTheBPFObjectLayout(t *testing.T) {
	spec, err := gen.LoadNstrace()
	if err != nil {
		t.Fatal(err)
	}
	for name, goType := range map[string]reflect.Type{
		"event":     reflect.TypeOf(gen.NstraceEvent{}),
		"change":    reflect.TypeOf(gen.NstraceChange{}),
		"flood_key": reflect.TypeOf(gen.NstraceFloodKey{}),
	} {
		var st *btf.Struct
		if err := spec.Types.TypeByName(name, &st); err != nil {
			t.Fatalf("BTF struct %s: %v", name, err)
		}
		if uintptr(st.Size) != goType.Size() {
			t.Errorf("struct %s: BTF size %d, Go size %d", name, st.Size, goType.Size())
		}
		var goOffsets []uintptr
		for i := range goType.NumField() {
			if f := goType.Field(i); f.Name != "_" {
				goOffsets = append(goOffsets, f.Offset)
			}
		}
		if len(goOffsets) != len(st.Members) {
			t.Fatalf("struct %s: %d BTF members, %d Go fields", name, len(st.Members), len(goOffsets))
		}
		for i, m := range st.Members {
			if got := uintptr(m.Offset.Bytes()); got != goOffsets[i] {
				t.Errorf("struct %s field %s: BTF offset %d, Go offset %d", name, m.Name, got, goOffsets[i])
			}
		}
	}
	if want := unsafe.Offsetof(gen.NstraceEvent{}.Changes); uintptr(headerSize) != want {
		t.Errorf("header size %d, want %d", headerSize, want)
	}
}

// The C enums and the Go event model number things the same way.
func TestBPFEnumsMatchTheEventModel(t *testing.T) {
	pairs := []struct {
		c, goValue uint32
		what       string
	}{
		{uint32(gen.NstraceNsTypeNS_CGROUP), uint32(event.Cgroup), "cgroup"},
		{uint32(gen.NstraceNsTypeNS_IPC), uint32(event.IPC), "ipc"},
		{uint32(gen.NstraceNsTypeNS_MNT), uint32(event.Mnt), "mnt"},
		{uint32(gen.NstraceNsTypeNS_NET), uint32(event.Net), "net"},
		{uint32(gen.NstraceNsTypeNS_PID), uint32(event.Pid), "pid"},
		{uint32(gen.NstraceNsTypeNS_PID_FOR_CHILDREN), uint32(event.PidForChildren), "pid_for_children"},
		{uint32(gen.NstraceNsTypeNS_TIME), uint32(event.Time), "time"},
		{uint32(gen.NstraceNsTypeNS_TIME_FOR_CHILDREN), uint32(event.TimeForChildren), "time_for_children"},
		{uint32(gen.NstraceNsTypeNS_USER), uint32(event.User), "user"},
		{uint32(gen.NstraceNsTypeNS_UTS), uint32(event.UTS), "uts"},
		{uint32(gen.NstraceNsTypeNS_TYPES), uint32(event.NumNsTypes), "number of types"},
		{uint32(gen.NstraceEventKindEVENT_CLONE), uint32(event.Clone), "clone"},
		{uint32(gen.NstraceEventKindEVENT_UNSHARE), uint32(event.Unshare), "unshare"},
		{uint32(gen.NstraceEventKindEVENT_SETNS), uint32(event.Setns), "setns"},
		{uint32(gen.NstraceEventKindEVENT_EXEC), uint32(event.Exec), "exec"},
		{uint32(gen.NstraceChangeActionACTION_CREATE), uint32(event.Create), "create"},
		{uint32(gen.NstraceChangeActionACTION_JOIN), uint32(event.Join), "join"},
		{uint32(gen.NstraceEventKindEVENT_DESTROY), uint32(event.Destroy), "destroy"},
		{uint32(gen.NstraceChangeActionACTION_DESTROY), uint32(event.Gone), "destroy action"},
	}
	for _, p := range pairs {
		if p.c != p.goValue {
			t.Errorf("%s: C %d, Go %d", p.what, p.c, p.goValue)
		}
	}
}

// Every drop cause is read into Stats, and only there is it summed into Lost.
func TestEveryDropCauseIsCounted(t *testing.T) {
	var tr Tracer
	for cause := range tr.lost {
		tr.lost[cause].Store(1 << cause)
	}
	s := tr.Stats()
	if s.RingFull != 1<<gen.NstraceDropCauseDROP_RING_FULL || s.PendingFull != 1<<gen.NstraceDropCauseDROP_PENDING_FULL ||
		s.FloodFull != 1<<gen.NstraceDropCauseDROP_FLOOD_FULL {
		t.Errorf("stats by cause %+v", s)
	}
	if want := uint64(1)<<gen.NstraceDropCauseDROP_CAUSES - 1; s.Lost != want {
		t.Errorf("lost %d, want every cause: %d", s.Lost, want)
	}
}
