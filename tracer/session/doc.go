// Package session records events to files and reads them back.
//
// A session file is JSON Lines, one record per line, so it streams, appends
// and reads with jq:
//
//	{"event":"session","format":1,...}   header: the host, the hooks, the rules in force, the namespace inventory
//	{"time":...,"event":"unshare",...}   events, exactly as `nstrace trace -o json` prints them
//	{"time":...,"event":"alert",...}     an alert, right after the event that raised it
//	{"time":...,"event":"lost","count":3} where the kernel dropped records
//	{"event":"seal","seq":...,"mac":...}  authenticates the lines before it (trace -w seals unless --seal=false)
//	{"event":"end","time":...,"events":N,"lost":M}   trailer, written on a clean stop
//
// Compatibility: records may gain fields, and new record kinds (new
// "event" values) may be added, without a new format: readers ignore
// fields they do not know and skip records of kinds they do not know,
// counting them (Reader.Skipped) with one warning per kind. The header's
// format changes only when old readers would misread new files; readers
// refuse formats newer than FormatVersion.
//
// Files named *.gz or *.zst are compressed; the reader recognises them by
// content and reads every gzip member or zstd frame, so appending adds
// one. A file may hold several sessions one after another (appended, or
// files concatenated), and a recording rotated over several files reads
// back as one stream when the files are given in order. A rotated series
// goes on after its highest part when recording restarts.
//
// The Writer allocates nothing per event and writes whole records, so a
// recorder killed at any moment leaves a file whose complete records all
// read back; the Reader reports a torn last record as a Warning, not an
// error. After a failed write the Writer stops and counts the events the
// file did not get. The Reader bounds its memory whatever it is given.
package session
