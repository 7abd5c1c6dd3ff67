package session_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

// A recording is written with Create and read back with Open, here
// compressed by its name.
func Example() {
	dir, err := os.MkdirTemp("", "session-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "trace.jsonl.zst")

	at := time.Date(2026, 11, 29, 23, 5, 14, 0, time.UTC)
	w, err := session.Create(path, session.Options{Header: session.Header{Version: "example", Host: "web1"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, comm := range []string{"ip", "unshare"} {
		ev := event.Event{Time: at.Add(time.Duration(i) * time.Millisecond), Kind: event.Unshare, Pid: uint32(100 + i), Tid: uint32(100 + i), Comm: comm,
			Flags: syscall.CLONE_NEWNET, Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 4026531840, To: uint32(4026532177 + i)}}}
		if err := w.WriteEvent(&ev); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	r, err := session.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println("recorded on", r.Header().Host)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Time.Format(time.TimeOnly), ev.Comm, ev.Kind, ev.Changes[0].Type, ev.Changes[0].To)
	}
	fmt.Println(len(r.Warnings()), "warnings")
	// Output:
	// recorded on web1
	// 23:05:14 ip unshare net 4026532177
	// 23:05:14 unshare unshare net 4026532178
	// 0 warnings
}

// NextRecord returns alerts too, each right after the event that raised
// it. A recording cut short (here: no trailer, a torn last line) reads to
// its last whole record and says so in Warnings.
func ExampleReader_NextRecord() {
	const recording = `{"event":"session","format":1,"time":"2026-11-29T23:05:14.000000000Z","session":"07791ce368ca9795","part":1,"host":"web1","detection":{"rules":["unprivileged-userns"]}}
{"time":"2026-11-29T23:05:14.655000000Z","event":"unshare","pid":6727,"tid":6727,"ppid":6443,"comm":"unshare","uid":65534,"flags":["CLONE_NEWUSER"],"changes":[{"type":"user","action":"create","from":4026531837,"to":4026532246}]}
{"time":"2026-11-29T23:05:14.655516000Z","event":"alert","rule":"unprivileged-userns","severity":"warning","message":"\"unshare\" (pid 6727) created user namespace 4026532246 as uid 65534","pid":6727,"tid":6727,"comm":"unshare"}
{"time":"2026-11-29T23:05:14.7`
	r, err := session.NewReader(strings.NewReader(recording), "cut.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rules:", r.Header().Detection.Rules)
	for {
		rec, err := r.NextRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		switch {
		case rec.Alert != nil:
			fmt.Printf("ALERT %s %s: %s\n", rec.Alert.Severity, rec.Alert.Rule, rec.Alert.Message)
		case rec.Event != nil:
			fmt.Println(rec.Event.Kind, rec.Event.Comm, rec.Event.UID, rec.Event.Changes[0].Type)
		}
	}
	for _, w := range r.Warnings() {
		fmt.Println("warning:", w)
	}
	// Output:
	// rules: [unprivileged-userns]
	// unshare unshare 65534 user
	// ALERT warning unprivileged-userns: "unshare" (pid 6727) created user namespace 4026532246 as uid 65534
	// warning: cut.jsonl: line 4 (byte 627): torn final record (30 bytes) ignored: the recording was cut short
}
