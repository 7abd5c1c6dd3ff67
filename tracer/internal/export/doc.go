// Package export sends nstrace's records to an OpenTelemetry Collector as
// OTLP logs, at least once.
//
// Every record (event, loss marker, alert, exit summary) is first appended
// to a bounded spool on disk, each write of records packed as one S2
// block, so the bound holds many times the records of their JSON (a
// process's capabilities, arguments and ancestors repeat from record to
// record); a goroutine reads the spool, encodes the
// records as an OTLP ExportLogsServiceRequest, sends it over OTLP/gRPC or
// OTLP/HTTP (binary protobuf, gzip) and advances the spool's cursor only
// when the collector acknowledges. Requests carry up to 2048 records; up
// to four are in flight, the cursor moving in spool order as far as every
// earlier one is acknowledged; a part batch waits up to 100 ms for more.
// Failures are retried with exponential backoff; what the spool must drop
// to stay in bounds, and what the collector rejects, is counted, never
// silent. A restart with the same spool directory resumes where the last
// run stopped; a run killed at any point loses at most what it had not yet
// written to the spool (its last 64 KiB buffer, or what arrived since the
// last Flush).
//
// The request is encoded straight from the spooled JSON to the protobuf
// wire format (wire.go, record.go), copying what repeats from the last
// record's encoding (memo.go: runs of the same top-level fields, the last
// two values of each array or object, the attributes), to the messages of
// go.opentelemetry.io/proto/otlp, and sent with grpc-go or net/http; the
// standard OTEL_EXPORTER_OTLP_* variables are read as the SDKs read them
// (options.go). The OpenTelemetry SDK's log exporters are not used: on
// their path (SDK records built through a Logger, transformed into the
// proto types, marshalled) the SDK's own transform and marshal alone took
// more CPU per record than the goal of 200 000 records a second on one
// core allows, with well over a hundred allocations per record; encoding
// directly allocates nothing per record. The sender also needs each
// request's acknowledgement and partial-success count, which the SDK's
// batch processor does not give. The gzip used is klauspost's at
// its fastest level (gzip.go), also for gRPC.
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
