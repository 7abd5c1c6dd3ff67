// Package export sends nstrace's records to an OpenTelemetry Collector as
// OTLP logs, at least once.
//
// Every record (event, loss marker, alert, exit summary) is first appended
// to a bounded spool on disk; a goroutine reads the spool, builds log
// records (the event's JSON object as the body, semantic-convention
// attributes, a stable nstrace.record.id), exports them with the SDK's
// OTLP exporter (its own retries off) and advances the spool's cursor only
// when the collector acknowledges. Failures are retried with exponential
// backoff; what the spool must drop to stay in bounds, and what the
// collector rejects, is counted, never silent. A restart with the same
// spool directory resumes where the last run stopped.
package export
