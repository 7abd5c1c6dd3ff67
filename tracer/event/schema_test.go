package event

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/schema"
)

// FullEvents has every field of the schema set at least once, on the
// records that carry it: a syscall that changed namespaces (with every
// change field), a failed one (error, target), a loss marker with its cause
// and a flood record.
func fullEvents() []Event {
	at := time.Date(2026, 11, 29, 1, 2, 3, 4, time.UTC)
	ctr := &Container{ID: "4f2a9c1b7d3e", Runtime: "containerd", Name: "nginx", Image: "nginx:1.27",
		Pod: &Pod{Name: "web-7d9f", Namespace: "shop", UID: "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10",
			Labels: map[string]string{"app": "web", "pod-template-hash": "7d9f"}}}
	return []Event{
		{Time: at, Kind: Unshare, Pid: 10, Tid: 11, Ppid: 1, UID: 1000, Comm: "unshare", Flags: unix.CLONE_NEWNET | unix.CLONE_NEWUTS,
			CgroupID: 77, UserNS: 4026531837, Container: ctr, Changes: []Change{
				{Type: Net, Action: Create, From: 4026531840, To: 4026532200, NsID: 9, Name: "blue", Owner: 4026531837, Container: ctr},
				{Type: UTS, Action: Join, From: 4026531838, To: 4026531838, NsID: 1, Host: true}},
			Auid: 1000, Caps: caps.SysAdminMask | 1<<45, HasCreds: true, Process: &Process{
				Exe: "/usr/bin/unshare", ExeArg: "/bin/unshare", Args: []string{"unshare", "-n", "-u"},
				Ancestors: []Ancestor{{Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}},
				Truncated: []string{"ancestors"}, Role: RoleExec}},
		{Time: at, Kind: Setns, Pid: 12, Tid: 12, Ppid: 2, UID: 1001, Comm: "nsenter", Flags: unix.CLONE_NEWNET,
			Errno: syscall.EPERM, Target: &Target{Type: Net, Inode: 4026532200}, Auid: NoAuid, Caps: 1 << 12, HasCreds: true},
		{Time: at, Kind: Lost, Lost: 3, Cause: LostShutdown},
		{Time: at, Kind: Flood, UID: 1000, CgroupID: 77, Comm: "spam", Counted: Unshare, Errno: syscall.EPERM, Count: 5000, Container: ctr},
	}
}

// recordOf is the record an event of kind k is written as.
func recordOf(k Kind) schema.Record {
	switch k {
	case Lost:
		return schema.LostRecord
	case Flood:
		return schema.FloodRecord
	}
	return schema.SyscallRecord
}

// The encoder writes every field the schema lists for a record, with the
// shape it gives, and no other; syscall records in the schema's order.
func TestTheEncoderWritesTheSchemasFields(t *testing.T) {
	seen := map[schema.Record]map[string]bool{}
	nested := map[string]map[string]bool{}
	for _, ev := range fullEvents() {
		line := ev.AppendJSON(nil)
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		rec := recordOf(ev.Kind)
		if seen[rec] == nil {
			seen[rec] = map[string]bool{}
		}
		for name, v := range obj {
			f, ok := field(schema.EventFields, name)
			if !ok || f.In&rec == 0 {
				t.Errorf("%s record has %q, which the schema does not give it", ev.Kind, name)
				continue
			}
			seen[rec][name] = true
			checkShape(t, f, v, nested)
		}
		if rec == schema.SyscallRecord {
			var want []string
			for _, f := range schema.EventFields {
				if obj[f.Name] != nil {
					want = append(want, f.Name)
				}
			}
			if got := keyOrder(t, line); !slices.Equal(got, want) {
				t.Errorf("keys in order %v, the schema's order is %v", got, want)
			}
		}
	}
	for _, f := range schema.EventFields {
		for _, rec := range []schema.Record{schema.SyscallRecord, schema.LostRecord, schema.FloodRecord} {
			if f.In&rec != 0 && !seen[rec][f.Name] {
				t.Errorf("no %b record written has %q", rec, f.Name)
			}
		}
	}
	for obj, fields := range schema.ObjectFields {
		for _, f := range fields {
			if !nested[obj][f.Name] {
				t.Errorf("no %s written has %q", obj, f.Name)
			}
		}
	}
}

// checkShape fails unless v, decoded from JSON, has f's shape; it notes the
// fields of nested objects in nested.
func checkShape(t *testing.T, f schema.Field, v any, nested map[string]map[string]bool) {
	t.Helper()
	ok := false
	switch f.Type {
	case schema.StringField:
		_, ok = v.(string)
	case schema.TimeField:
		s, _ := v.(string)
		_, err := time.Parse(TimeLayout, s)
		ok = err == nil
	case schema.UintField:
		_, ok = v.(float64)
	case schema.BoolField:
		_, ok = v.(bool)
	case schema.StringsField:
		list, isList := v.([]any)
		ok = isList && len(list) > 0
		for _, s := range list {
			_, isString := s.(string)
			ok = ok && isString
		}
	case schema.StringMapField:
		m, isObj := v.(map[string]any)
		ok = isObj && len(m) > 0
		for _, s := range m {
			_, isString := s.(string)
			ok = ok && isString
		}
	case schema.ObjectField, schema.ObjectsField:
		objs := []any{v}
		if f.Type == schema.ObjectsField {
			objs, ok = v.([]any)
			ok = ok && len(objs) > 0
		}
		for _, o := range objs {
			m, isObj := o.(map[string]any)
			ok = isObj
			if nested[f.Object] == nil {
				nested[f.Object] = map[string]bool{}
			}
			for name, v := range m {
				nf, known := field(schema.ObjectFields[f.Object], name)
				if !known {
					t.Errorf("%s has %q, which the schema does not list", f.Object, name)
					continue
				}
				nested[f.Object][name] = true
				checkShape(t, nf, v, nested)
			}
		}
	}
	if !ok {
		t.Errorf("%q is %#v, not of type %d", f.Name, v, f.Type)
	}
}

func field(fields []schema.Field, name string) (schema.Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return schema.Field{}, false
}

// keyOrder lists the top-level keys of one JSON object as written.
func keyOrder(t *testing.T, line []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(line))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		if s, ok := tok.(string); ok && depth == 1 {
			keys = append(keys, s)
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		}
	}
}

// The decoder's struct reads exactly the schema's fields, nested ones too.
func TestTheDecoderReadsTheSchemasFields(t *testing.T) {
	w := reflect.TypeFor[wire]()
	checkTags(t, "event", w, schema.EventFields)
	checkTags(t, "change", w.Field(fieldIndex(w, "Changes")).Type.Elem(), schema.ObjectFields["change"])
	checkTags(t, "target", w.Field(fieldIndex(w, "Target")).Type.Elem(), schema.ObjectFields["target"])
	checkTags(t, "container", reflect.TypeFor[Container](), schema.ObjectFields["container"])
	checkTags(t, "pod", reflect.TypeFor[Pod](), schema.ObjectFields["pod"])
	checkTags(t, "ancestor", w.Field(fieldIndex(w, "Ancestors")).Type.Elem(), schema.ObjectFields["ancestor"])
}

func fieldIndex(t reflect.Type, name string) int {
	f, _ := t.FieldByName(name)
	return f.Index[0]
}

// checkTags compares the json tags of st's fields with the schema's names.
func checkTags(t *testing.T, what string, st reflect.Type, fields []schema.Field) {
	t.Helper()
	var tags, names []string
	for i := range st.NumField() {
		tags = append(tags, strings.Split(st.Field(i).Tag.Get("json"), ",")[0])
	}
	for _, f := range fields {
		names = append(names, f.Name)
	}
	slices.Sort(tags)
	slices.Sort(names)
	if !slices.Equal(tags, names) {
		t.Errorf("%s: the decoder reads %v, the schema lists %v", what, tags, names)
	}
}

// What the encoder writes, the decoder reads back whole.
func TestEveryFieldSurvivesEncodeAndDecode(t *testing.T) {
	for _, ev := range fullEvents() {
		line := ev.AppendJSON(nil)
		var back Event
		if err := back.UnmarshalJSON(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("%s read back as\n%+v, want\n%+v", line, back, ev)
		}
	}
}

// The README, where users learn the schema, shows every field: quoted, as
// in its JSON examples and `{"id","runtime","name"}`, or in backquotes.
func TestTheReadmeShowsEveryField(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	shown := func(name string) bool {
		return bytes.Contains(readme, []byte(`"`+name+`"`)) || bytes.Contains(readme, []byte("`"+name+"`"))
	}
	for _, f := range schema.EventFields {
		if !shown(f.Name) {
			t.Errorf("README.md does not show the field %q", f.Name)
		}
	}
	for obj, fields := range schema.ObjectFields {
		for _, f := range fields {
			if !shown(f.Name) {
				t.Errorf("README.md does not show the %s field %q", obj, f.Name)
			}
		}
	}
}
