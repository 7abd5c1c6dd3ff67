// Package session records events to files and reads them back.
//
// A session file is JSON Lines, one record per line, so it streams, appends
// and reads with jq:
//
//	{"event":"session","format":1,...}   header: the host, the hooks, the namespace inventory
//	{"time":...,"event":"unshare",...}   events, exactly as `nstrace trace -o json` prints them
//	{"time":...,"event":"lost","count":3} where the kernel dropped records
//	{"event":"end","time":...,"events":N,"lost":M}   trailer, written on a clean stop
//
// Files named *.gz or *.zst are compressed; the reader recognises them by
// content. A file may hold several sessions one after another (appended, or
// files concatenated), and a recording rotated over several files reads
// back as one stream when the files are given in order.
//
// The Writer allocates nothing per event and writes whole records, so a
// recorder killed at any moment leaves a file whose complete records all
// read back; the Reader reports a torn last record as a Warning, not an
// error. The Reader bounds its memory whatever it is given.
package session
