// Package schema lists the fields of the JSON form of events, the one list
// of them. The form is written by hand (event.Event.AppendJSON allocates
// nothing) and read through a struct (UnmarshalJSON); rule expressions
// (tracer/internal/detect) see the same fields by the same names. The encoder's
// tests check what it writes against these tables, the decoder's struct
// tags and the rules' declarations are checked against them, and the
// rules' variables are declared from them. A field added in one place and
// not in the tables fails a test.
package schema

// FieldType is the JSON shape of a field's value.
type FieldType uint8

// The shapes a field can have. Numbers are unsigned integers; an Object
// field holds one of the nested objects (ObjectFields names its fields),
// an Objects field a list of them.
const (
	StringField FieldType = iota + 1
	UintField
	BoolField
	TimeField    // RFC 3339 text, event.TimeLayout
	StringsField // a list of strings
	ObjectField
	ObjectsField
	StringMapField // an object of string values under keys its source chose (a pod's labels)
)

// Record is a set of the top-level records a field appears in.
type Record uint8

// The top-level records of the JSON Lines stream, by their "event" value:
// SyscallRecord is every kind but lost and flood.
const (
	SyscallRecord Record = 1 << iota
	LostRecord
	FloodRecord
	AllRecords = SyscallRecord | LostRecord | FloodRecord
)

// Field is one field of the JSON form. The encoder leaves out some when
// they are empty (cgroup_id, userns, error, target, container, a change's
// ns_id...), never one that is set.
type Field struct {
	Name   string
	Type   FieldType
	In     Record // top-level fields: the records that carry it; 0 in a nested object
	Object string // Object and Objects fields: the key of ObjectFields that lists its fields
}

// EventFields lists the top-level fields, in the order the encoder writes
// a syscall record's.
var EventFields = []Field{
	{Name: "time", Type: TimeField, In: AllRecords},
	{Name: "event", Type: StringField, In: AllRecords},
	{Name: "count", Type: UintField, In: LostRecord | FloodRecord},
	{Name: "cause", Type: StringField, In: LostRecord},
	{Name: "pid", Type: UintField, In: SyscallRecord},
	{Name: "tid", Type: UintField, In: SyscallRecord},
	{Name: "ppid", Type: UintField, In: SyscallRecord},
	{Name: "comm", Type: StringField, In: SyscallRecord | FloodRecord},
	{Name: "uid", Type: UintField, In: SyscallRecord | FloodRecord},
	{Name: "cgroup_id", Type: UintField, In: SyscallRecord | FloodRecord},
	{Name: "userns", Type: UintField, In: SyscallRecord},
	{Name: "kind", Type: StringField, In: FloodRecord},
	{Name: "flags", Type: StringsField, In: SyscallRecord},
	{Name: "error", Type: StringField, In: SyscallRecord | FloodRecord},
	{Name: "target", Type: ObjectField, In: SyscallRecord, Object: "target"},
	{Name: "container", Type: ObjectField, In: SyscallRecord | FloodRecord, Object: "container"},
	// The process behind the event (process.go).
	{Name: "auid", Type: UintField, In: SyscallRecord},
	{Name: "caps", Type: StringsField, In: SyscallRecord},
	{Name: "exe", Type: StringField, In: SyscallRecord},
	{Name: "exe_arg", Type: StringField, In: SyscallRecord},
	{Name: "args", Type: StringsField, In: SyscallRecord},
	{Name: "ancestors", Type: ObjectsField, In: SyscallRecord, Object: "ancestor"},
	{Name: "truncated", Type: StringsField, In: SyscallRecord},
	{Name: "container_role", Type: StringField, In: SyscallRecord},
	{Name: "changes", Type: ObjectsField, In: SyscallRecord, Object: "change"},
}

// ObjectFields lists the fields of each nested object, by the name Field.Object gives.
var ObjectFields = map[string][]Field{
	"change": {
		{Name: "type", Type: StringField},
		{Name: "action", Type: StringField},
		{Name: "from", Type: UintField},
		{Name: "to", Type: UintField},
		{Name: "ns_id", Type: UintField},
		{Name: "name", Type: StringField},
		{Name: "host", Type: BoolField},
		{Name: "owner", Type: UintField},
		{Name: "container", Type: ObjectField, Object: "container"},
	},
	"container": {
		{Name: "id", Type: StringField},
		{Name: "runtime", Type: StringField},
		{Name: "name", Type: StringField},
		// The runtime's identity (tracer/internal/runtime).
		{Name: "image", Type: StringField},
		{Name: "pod", Type: ObjectField, Object: "pod"},
	},
	"ancestor": {
		{Name: "pid", Type: UintField},
		{Name: "comm", Type: StringField},
		{Name: "exe", Type: StringField},
	},
	"target": {
		{Name: "type", Type: StringField},
		{Name: "inode", Type: UintField},
	},
	// A container's Kubernetes pod, from the runtime's CRI.
	"pod": {
		{Name: "name", Type: StringField},
		{Name: "namespace", Type: StringField},
		{Name: "uid", Type: StringField},
		{Name: "labels", Type: StringMapField},
	},
}
