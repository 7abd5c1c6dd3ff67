// Package event is nstrace's data model: one Event per namespace-changing
// syscall, with the Changes it made. Every other package speaks it: the
// tracer produces events, the resolver enriches them, sinks write them.
//
// An event's JSON form (Event.AppendJSON, read back by
// Event.UnmarshalJSON) is one line of `nstrace trace -o json` and of a
// session file; the "JSON schema" section of nstrace's README describes
// every field. The enumerations (Kind, NsType, Action) print as that form
// spells them, and their Parse functions read the names back.
package event
