package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/schema"
)

// The Go shapes rules see carry exactly the schema's nested fields, each
// of the schema's type.
func TestRuleObjectsMatchTheSchema(t *testing.T) {
	if len(ruleObjects) != len(schema.ObjectFields) {
		t.Errorf("rules know %d nested objects, the schema %d", len(ruleObjects), len(schema.ObjectFields))
	}
	for name, fields := range schema.ObjectFields {
		st, ok := ruleObjects[name]
		if !ok {
			t.Errorf("rules have no shape for %s", name)
			continue
		}
		var tags, names []string
		for i := range st.NumField() {
			tags = append(tags, st.Field(i).Tag.Get("cel"))
		}
		for _, f := range fields {
			names = append(names, f.Name)
			sf, ok := fieldByTag(st, f.Name)
			if ok && sf.Type.Kind() != goKind(f) {
				t.Errorf("%s.%s is a Go %s, the schema says %d", name, f.Name, sf.Type.Kind(), f.Type)
			}
		}
		slices.Sort(tags)
		slices.Sort(names)
		if !slices.Equal(tags, names) {
			t.Errorf("%s: rules see %v, the schema lists %v", name, tags, names)
		}
	}
}

func fieldByTag(st reflect.Type, tag string) (reflect.StructField, bool) {
	for i := range st.NumField() {
		if st.Field(i).Tag.Get("cel") == tag {
			return st.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func goKind(f schema.Field) reflect.Kind {
	switch f.Type {
	case schema.StringField:
		return reflect.String
	case schema.UintField:
		return reflect.Int64
	case schema.BoolField:
		return reflect.Bool
	case schema.ObjectField:
		return reflect.Struct
	case schema.StringMapField:
		return reflect.Map
	}
	return reflect.Invalid
}

// An event written as JSON and read back shows every field to a rule as
// the JSON has it: for each value in the JSON (nested ones included), the
// rule `path == value` holds on the decoded event, and every field of a
// syscall record in the schema is met.
func TestEveryFieldSurvivesEncodeDecodeAndReachesRules(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 1, 2, 3, 4, time.UTC)
	ctr := &event.Container{ID: "4f2a9c1b7d3e", Runtime: "containerd", Name: "nginx", Image: "nginx:1.27",
		Pod: &event.Pod{Name: "web-7d9f", Namespace: "shop", UID: "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10",
			Labels: map[string]string{"app": "web"}}}
	events := []event.Event{
		{Time: at, Kind: event.Unshare, Pid: 10, Tid: 11, Ppid: 1, UID: 1000, Comm: `un"share`,
			Flags: unix.CLONE_NEWNET | unix.CLONE_NEWUTS, CgroupID: 77, UserNS: 4026531837, Container: ctr,
			Changes: []event.Change{
				{Type: event.Net, Action: event.Create, From: 4026531840, To: 4026532200, NsID: 9, Name: "blue",
					Owner: 4026531837, Container: ctr},
				{Type: event.UTS, Action: event.Join, From: 4026531838, To: 4026531838, NsID: 1, Host: true}},
			Auid: 1000, Caps: caps.SysAdminMask, HasCreds: true, Process: &event.Process{
				Exe: "/usr/bin/unshare", ExeArg: "/bin/unshare", Args: []string{"unshare", "-n"},
				Ancestors: []event.Ancestor{{Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}},
				Truncated: []string{"args"}, Role: event.RoleInit}},
		{Time: at, Kind: event.Setns, Pid: 12, Tid: 12, Ppid: 2, UID: 1001, Comm: "nsenter", Flags: unix.CLONE_NEWNET,
			Errno: syscall.EPERM, Target: &event.Target{Type: event.Net, Inode: 4026532200}},
		{Time: at, Kind: event.Destroy, Changes: []event.Change{
			{Type: event.IPC, Action: event.ActionDestroy, To: 4026532300, NsID: 12}}},
	}
	met := map[string]bool{}
	for _, ev := range events {
		line := ev.AppendJSON(nil)
		var back event.Event
		if err := back.UnmarshalJSON(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("%s read back as %+v", line, back)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		var act activation
		act.reset(&back)
		for _, c := range conditions("", obj, met) {
			ast, iss := env.Compile(c)
			if iss.Err() != nil {
				t.Errorf("%s: %v", c, iss.Err())
				continue
			}
			prg, err := env.Program(ast)
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := prg.Eval(&act)
			if err != nil || out.Value() != true {
				t.Errorf("on %s: %s is %v (%v)", line, c, out, err)
			}
		}
	}
	var missed []string
	for _, f := range schema.EventFields {
		if f.In&schema.SyscallRecord != 0 && !met[f.Name] {
			missed = append(missed, f.Name)
		}
	}
	for _, obj := range []string{"changes", "target", "container", "changes.container", "container.pod", "changes.container.pod", "ancestors"} {
		f, _ := fieldNamed(schema.EventFields, strings.Split(obj, ".")[0])
		fields := schema.ObjectFields[f.Object]
		switch {
		case strings.HasSuffix(obj, ".pod"):
			fields = schema.ObjectFields["pod"]
		case obj == "changes.container":
			fields = schema.ObjectFields["container"]
		}
		for _, nf := range fields {
			if !met[obj+"."+nf.Name] {
				missed = append(missed, obj+"."+nf.Name)
			}
		}
	}
	if len(missed) > 0 {
		t.Errorf("no rule saw %v", missed)
	}
}

func fieldNamed(fields []schema.Field, name string) (schema.Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return schema.Field{}, false
}

// conditions turns a decoded JSON object into CEL conditions that hold
// when a rule sees the same values, noting each field met by its path
// without list indexes ("changes.container.id").
func conditions(prefix string, obj map[string]any, met map[string]bool) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		path, seen := prefix+k, strings.TrimPrefix(stripIndexes(prefix+k), ".")
		met[seen] = true
		switch v := obj[k].(type) {
		case map[string]any:
			out = append(out, conditions(path+".", v, met)...)
		case []any:
			if len(v) == 0 {
				out = append(out, "size("+path+") == 0")
			}
			for i, item := range v {
				if m, ok := item.(map[string]any); ok {
					out = append(out, conditions(fmt.Sprintf("%s[%d].", path, i), m, met)...)
					continue
				}
				out = append(out, fmt.Sprintf("%s[%d] == %s", path, i, literal(item)))
			}
		case string:
			if k == "time" {
				out = append(out, fmt.Sprintf("%s == timestamp(%s)", path, literal(v)))
			} else {
				out = append(out, path+" == "+literal(v))
			}
		default:
			out = append(out, path+" == "+literal(v))
		}
	}
	return out
}

func stripIndexes(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// literal writes a JSON scalar as a CEL literal: JSON strings, numbers and
// booleans are CEL's too.
func literal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// An alert names the fields it shares with events as events do, with the
// same shapes; its containers have the schema's container fields.
func TestAlertFieldsUseTheEventSchemasNames(t *testing.T) {
	ctr := &event.Container{ID: "4f2a9c1b7d3e", Runtime: "docker", Name: "web"}
	a := Alert{Time: time.Unix(1, 0), Rule: "r", Severity: Warning, Message: "m", Pid: 1, Tid: 2, Comm: "sh",
		Container: ctr, Joined: ctr, Userns: 4026531837, Created: []event.NsType{event.Net}, Suppressed: 3,
		Shared:  []event.NsType{event.Net, event.UTS},
		Trigger: &event.Event{Time: time.Unix(1, 0), Kind: event.Unshare},
		Count:   5, Last: &event.Event{Time: time.Unix(2, 0), Kind: event.Unshare}}
	var obj map[string]any
	if err := json.Unmarshal(a.AppendJSON(nil), &obj); err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"rule": "string", "severity": "string", "message": "string", "joined_container": "container",
		"created": "strings", "suppressed": "number", "host_namespaces": "strings", "trigger": "event",
		"count": "number", "last_trigger": "event"}
	shapes := map[schema.FieldType]string{schema.StringField: "string", schema.TimeField: "string", schema.UintField: "number",
		schema.ObjectField: "container"}
	for k, v := range obj {
		want, ok := own[k]
		if !ok {
			f, inSchema := fieldNamed(schema.EventFields, k)
			if !inSchema {
				t.Errorf("alert field %q is neither the alert's own nor in the event schema", k)
				continue
			}
			want = shapes[f.Type]
		}
		if got := jsonShape(v); got != want {
			t.Errorf("alert field %q is a %s, want a %s", k, got, want)
		}
		if want == "container" {
			for ck := range v.(map[string]any) {
				if _, ok := fieldNamed(schema.ObjectFields["container"], ck); !ok {
					t.Errorf("alert field %s has %q, not a container field", k, ck)
				}
			}
		}
	}
	if len(obj) != 17 {
		t.Errorf("alert has %d fields, want all 17 set: %v", len(obj), obj)
	}
}

func jsonShape(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case []any:
		return "strings"
	case map[string]any:
		if _, ok := v["event"]; ok {
			return "event"
		}
		return "container"
	}
	return fmt.Sprintf("%T", v)
}
