package tracer

import (
	"reflect"
	"strings"
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
		"proc":      reflect.TypeOf(gen.NstraceProc{}),
		"ancestor":  reflect.TypeOf(gen.NstraceAncestor{}),
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

// The C enums and the Go event model number things the same way: every
// enumerator of every shared C enum (read from the object's BTF, so a new
// one fails here until Go names it) has its Go counterpart. Drop causes
// have theirs in Stats, by name: DROP_RING_FULL is Stats.RingFull.
func TestBPFEnumsMatchTheEventModel(t *testing.T) {
	spec, err := gen.LoadNstrace()
	if err != nil {
		t.Fatal(err)
	}
	goValues := map[string]map[string]uint64{
		"ns_type": {
			"NS_CGROUP": uint64(event.Cgroup), "NS_IPC": uint64(event.IPC), "NS_MNT": uint64(event.Mnt),
			"NS_NET": uint64(event.Net), "NS_PID": uint64(event.Pid), "NS_PID_FOR_CHILDREN": uint64(event.PidForChildren),
			"NS_TIME": uint64(event.Time), "NS_TIME_FOR_CHILDREN": uint64(event.TimeForChildren),
			"NS_USER": uint64(event.User), "NS_UTS": uint64(event.UTS), "NS_TYPES": uint64(event.NumNsTypes),
		},
		"event_kind": {
			"EVENT_CLONE": uint64(event.Clone), "EVENT_UNSHARE": uint64(event.Unshare), "EVENT_SETNS": uint64(event.Setns),
			"EVENT_EXEC": uint64(event.Exec), "EVENT_DESTROY": uint64(event.Destroy),
		},
		"change_action": {
			"ACTION_CREATE": uint64(event.Create), "ACTION_JOIN": uint64(event.Join), "ACTION_DESTROY": uint64(event.ActionDestroy),
		},
		"drop_cause": {},
	}
	for name, want := range goValues {
		var enum *btf.Enum
		if err := spec.Types.TypeByName(name, &enum); err != nil {
			t.Fatalf("BTF enum %s: %v", name, err)
		}
		for _, v := range enum.Values {
			if name == "drop_cause" {
				checkDropCause(t, v.Name, v.Value)
				continue
			}
			goValue, ok := want[v.Name]
			switch {
			case !ok:
				t.Errorf("enum %s: %s (%d) has no Go counterpart in this test", name, v.Name, v.Value)
			case goValue != v.Value:
				t.Errorf("enum %s: %s is %d in C, %d in Go", name, v.Name, v.Value, goValue)
			}
			delete(want, v.Name)
		}
		for n := range want {
			t.Errorf("enum %s has no %s", name, n)
		}
		// Loss markers and flood records are made in Go: no kind the
		// kernel sends may be taken for one.
		if name == "event_kind" {
			for _, v := range enum.Values {
				if v.Value >= uint64(event.Lost) {
					t.Errorf("%s is %d: Go reads that as %s", v.Name, v.Value, event.Kind(v.Value))
				}
			}
			if event.Lost.String() != "lost" || event.Flood.String() != "flood" {
				t.Errorf("Go kinds past the C enum are %s and %s", event.Lost, event.Flood)
			}
		}
	}
}

// checkDropCause finds the Stats field that counts the drops of cause
// DROP_X_Y by its name, XY, and checks that it counts exactly those.
func checkDropCause(t *testing.T, name string, value uint64) {
	t.Helper()
	var tr Tracer
	if name == "DROP_CAUSES" {
		if value != uint64(len(tr.lost)) {
			t.Errorf("DROP_CAUSES is %d, the tracer counts %d causes", value, len(tr.lost))
		}
		return
	}
	field := ""
	for _, w := range strings.Split(strings.TrimPrefix(name, "DROP_"), "_") {
		field += w[:1] + strings.ToLower(w[1:])
	}
	f := reflect.ValueOf(Stats{}).FieldByName(field)
	if !f.IsValid() {
		t.Errorf("drop cause %s has no Stats.%s", name, field)
		return
	}
	tr.lost[value].Store(7)
	if got := reflect.ValueOf(tr.Stats()).FieldByName(field).Uint(); got != 7 {
		t.Errorf("drops of cause %s land in Stats.%s as %d, want 7", name, field, got)
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
