package detect

import (
	"reflect"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
	"github.com/nstrace/nstrace/tracer/internal/schema"
)

// Rule expressions are CEL (github.com/google/cel-go) over the event's
// fields, named as in its JSON form. These are the Go shapes CEL sees for
// the nested objects; absent objects read as empty ones (container.id == "").
type ruleChange struct {
	Type      string        `cel:"type"`
	Action    string        `cel:"action"`
	From      int64         `cel:"from"`
	To        int64         `cel:"to"`
	NsID      int64         `cel:"ns_id"`
	Name      string        `cel:"name"`
	Host      bool          `cel:"host"`
	Owner     int64         `cel:"owner"`
	Container ruleContainer `cel:"container"`
}

type ruleContainer struct {
	ID      string  `cel:"id"`
	Runtime string  `cel:"runtime"`
	Name    string  `cel:"name"`
	Image   string  `cel:"image"`
	Pod     rulePod `cel:"pod"`
}

// rulePod is a container's pod; outside a pod its fields are empty
// (container.pod.namespace == "").
type rulePod struct {
	Name      string            `cel:"name"`
	Namespace string            `cel:"namespace"`
	UID       string            `cel:"uid"`
	Labels    map[string]string `cel:"labels"`
}

type ruleTarget struct {
	Type  string `cel:"type"`
	Inode int64  `cel:"inode"`
}

// ruleObjects maps the schema's nested objects to the Go shapes above.
var ruleObjects = map[string]reflect.Type{
	"change":    reflect.TypeFor[ruleChange](),
	"container": reflect.TypeFor[ruleContainer](),
	"target":    reflect.TypeFor[ruleTarget](),
	"pod":       reflect.TypeFor[rulePod](),
}

// newEnv declares the variables a rule may use: every field of a syscall
// record in the event schema (loss and flood records never reach rules).
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		ext.NativeTypes(reflect.TypeFor[ruleChange](), reflect.TypeFor[ruleContainer](),
			reflect.TypeFor[ruleTarget](), reflect.TypeFor[rulePod](), reflect.TypeFor[ruleAncestor](), ext.ParseStructTags(true)),
		ext.Strings(),
	}
	for _, f := range schema.EventFields {
		if f.In&schema.SyscallRecord != 0 {
			opts = append(opts, cel.Variable(f.Name, celType(f)))
		}
	}
	return cel.NewEnv(opts...)
}

// celType is the CEL type of a schema field: numbers are CEL ints (the
// values fit, and rules compare them with int literals).
func celType(f schema.Field) *cel.Type {
	switch f.Type {
	case schema.StringField:
		return cel.StringType
	case schema.UintField:
		return cel.IntType
	case schema.BoolField:
		return cel.BoolType
	case schema.TimeField:
		return cel.TimestampType
	case schema.StringsField:
		return cel.ListType(cel.StringType)
	case schema.ObjectField:
		return cel.ObjectType(celTypeName(ruleObjects[f.Object]))
	case schema.ObjectsField:
		return cel.ListType(cel.ObjectType(celTypeName(ruleObjects[f.Object])))
	case schema.StringMapField:
		return cel.MapType(cel.StringType, cel.StringType)
	}
	return cel.DynType
}

// celTypeName is the name NativeTypes gives a Go type: "detect.ruleChange".
func celTypeName(t reflect.Type) string {
	pkg := t.PkgPath()
	for i := len(pkg) - 1; i >= 0; i-- {
		if pkg[i] == '/' {
			pkg = pkg[i+1:]
			break
		}
	}
	return pkg + "." + t.Name()
}

// activation presents one event to rule programs, converting fields only
// when an expression reads them.
type activation struct {
	ev        *event.Event
	changes   []ruleChange
	flags     []string
	caps      []string
	ancestors []ruleAncestor
	built     bool // changes and flags are ev's
	fit       int8 // fitsEstimates(ev): 0 not known yet, 1 yes, -1 no
}

func (a *activation) reset(ev *event.Event) {
	a.ev, a.built, a.fit = ev, false, 0
}

// fits tells whether the event is within the bounds of the cost estimates.
func (a *activation) fits() bool {
	if a.fit == 0 {
		a.fit = -1
		if fitsEstimates(a.ev) {
			a.fit = 1
		}
	}
	return a.fit > 0
}

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	ev := a.ev
	switch name {
	case "time":
		return ev.Time, true
	case "event":
		return ev.Kind.String(), true
	case "pid":
		return int64(ev.Pid), true
	case "tid":
		return int64(ev.Tid), true
	case "ppid":
		return int64(ev.Ppid), true
	case "uid":
		return int64(ev.UID), true
	case "comm":
		return ev.Comm, true
	case "cgroup_id":
		return int64(ev.CgroupID), true
	case "userns":
		return int64(ev.UserNS), true
	case "error":
		if ev.Errno == 0 {
			return "", true
		}
		return event.ErrnoName(ev.Errno), true
	case "target":
		if ev.Target == nil {
			return ruleTarget{}, true
		}
		return ruleTarget{Type: ev.Target.Type.String(), Inode: int64(ev.Target.Inode)}, true
	case "container":
		return containerValue(ev.Container), true
	case "flags", "changes":
		a.build()
		if name == "flags" {
			return a.flags, true
		}
		return a.changes, true
	}
	return a.resolveProcess(name)
}

func (a *activation) build() {
	if a.built {
		return
	}
	a.built = true
	a.flags = cloneflags.Append(a.flags[:0], a.ev.Flags)
	a.changes = a.changes[:0]
	for i := range a.ev.Changes {
		c := &a.ev.Changes[i]
		a.changes = append(a.changes, ruleChange{Type: c.Type.String(), Action: c.Action.String(),
			From: int64(c.From), To: int64(c.To), NsID: int64(c.NsID), Name: c.Name, Host: c.Host,
			Owner: int64(c.Owner), Container: containerValue(c.Container)})
	}
}

func containerValue(c *event.Container) ruleContainer {
	if c == nil {
		return ruleContainer{}
	}
	rc := ruleContainer{ID: c.ID, Runtime: c.Runtime, Name: c.Name, Image: c.Image}
	if p := c.Pod; p != nil {
		rc.Pod = rulePod{Name: p.Name, Namespace: p.Namespace, UID: p.UID, Labels: p.Labels}
	}
	return rc
}
