// Package export sends nstrace's records to an OpenTelemetry Collector as
// OTLP logs, at least once.
//
// Every record (event, loss marker, alert, exit summary) is first appended
// to a bounded spool on disk; a goroutine reads the spool, builds log
// records, exports them with the SDK's OTLP exporter (its own retries off)
// and advances the spool's cursor only when the collector acknowledges.
// Failures are retried with exponential backoff; what the spool must drop
// to stay in bounds, and what the collector rejects, is counted, never
// silent. A restart with the same spool directory resumes where the last
// run stopped; a run killed at any point loses at most what it had not yet
// written to the spool (its last 64 KiB buffer, or what arrived since the
// last Flush).
//
// One record:
//
//	Timestamp          the event's time
//	ObservedTimestamp  when the exporter was given it
//	EventName          nstrace.namespace.<kind>, nstrace.lost, nstrace.flood, nstrace.alert,
//	                   nstrace.summary
//	Severity           INFO; WARN for loss markers and floods; an alert's own
//	                   (info, notice, warning, critical)
//	Body               the record's JSON object (as `nstrace trace -o json` writes it), as a map
//	Attributes         nstrace.record.id (session id "-" sequence: the same on every retry),
//	                   nstrace.event, process.pid, process.parent_pid, thread.id,
//	                   process.command, user.id, container.id, container.name,
//	                   container.runtime.name, k8s.pod.name, k8s.namespace.name,
//	                   nstrace.cgroup.id, nstrace.error, nstrace.lost.count,
//	                   nstrace.lost.cause, nstrace.flood.count, nstrace.flood.kind,
//	                   nstrace.alert.rule (each where it applies)
//	Resource           service.name=nstrace, service.version, host.name, host.id
//	                   (machine id), host.arch, os.type, os.version (kernel release),
//	                   nstrace.host.boot_id, k8s.node.name (from K8S_NODE_NAME),
//	                   and OTEL_RESOURCE_ATTRIBUTES
package export
