package session_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

func validSession(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(record(t, "s.jsonl", sampleEvents(), session.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func firstLine(b []byte) []byte { return b[:bytes.IndexByte(b, '\n')+1] }

func TestBadInputIsOneClearErrorWithItsPlace(t *testing.T) {
	good := validSession(t)
	header := firstLine(good)
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	future := bytes.Replace(header, []byte(`"format":1`), []byte(`"format":7`), 1)

	tests := []struct {
		name string
		data []byte
		want string // the whole error after the file name
	}{
		{"an empty file", nil, "line 1 (byte 0): empty: not an nstrace session"},
		{"blank lines only", []byte("\n\n  \n"), "line 1 (byte 0): empty: not an nstrace session"},
		{"random bytes", random, "line 1 (byte 0): not an nstrace session"},
		{"a truncated header", header[:len(header)/2], "line 1 (byte 0): truncated session header"},
		{"a header from a future version", future, "line 1 (byte 0): session format 7 is newer than this nstrace reads (1): upgrade nstrace"},
		{"plain JSON lines without a header", good[len(header):], "line 1 (byte 0): not an nstrace session: the first record is not a session header"},
		{"a JSON array", []byte("[1,2,3]\n"), "line 1 (byte 0): not an nstrace session"},
		{"a header with a string for a number", bytes.Replace(header, []byte(`"part":1`), []byte(`"part":"one"`), 1),
			`line 1 (byte 0): field "part": got a JSON string, want a whole number`},
		{"a header without a time", []byte(`{"event":"session","format":1}` + "\n"), `line 1 (byte 0): "time" missing`},
		{"an event of the wrong shape", append(append([]byte{}, header...), `{"time":"2026-11-29T03:38:18Z","event":"setns","pid":"x"}`+"\n"...),
			`line 2 (byte ` + itoa(len(header)) + `): field "pid": got a JSON string, want a whole number from 0 to 4294967295`},
		{"a record without an event field", append(append([]byte{}, header...), `{"time":"2026-11-29T03:38:18Z","pid":1}`+"\n"...),
			`line 2 (byte ` + itoa(len(header)) + `): record without an "event" field`},
		{"a record that is not an object", append(append([]byte{}, header...), "42\n"...),
			`line 2 (byte ` + itoa(len(header)) + `): not a JSON object: not a session record`},
		{"garbage in the middle", append(append(append([]byte{}, header...), "{garbage\n"...), good[len(header):]...),
			`line 2 (byte ` + itoa(len(header)) + `): invalid JSON at column 2: invalid character 'g' looking for beginning of object key string`},
		{"an event after the trailer", append(append([]byte{}, good...), firstLine(good[len(header):])...),
			"record after the end of the session"},
		{"a corrupt gzip stream", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6},
			"line 1 (byte 0 decompressed): flate: corrupt input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "bad.jsonl", tt.data)
			_, _, err := tryReadAll(path)
			var se *session.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want a *session.Error", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error:\n %s\nwant one line: %s: ...%s...", msg, path, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestAGigabyteLineIsRefusedWithinBoundedMemory(t *testing.T) {
	good := validSession(t)
	path := filepath.Join(t.TempDir(), "huge.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(firstLine(good)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"time":"`); err != nil {
		t.Fatal(err)
	}
	// Sparse: a 1 GB line without a newline costs no disk.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err = tryReadAll(path)
	runtime.ReadMemStats(&after)
	want := path + ": line 2 (byte " + itoa(len(firstLine(good))) + "): record line too long: over 1 MiB without a newline"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MiB to refuse a long line", grew>>20)
	}
}

func TestADirectoryOrAFifoIsRefusedWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{dir, dir + ": is a directory"},
		{fifo, fifo + ": is a named pipe, not a regular file"},
		{"/dev/zero", "/dev/zero: is a device, not a regular file"},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing") + ": no such file or directory"},
	}
	for _, tt := range tests {
		_, _, err := tryReadAll(tt.path)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.path, err, tt.want)
		}
	}
}

// Cutting a session file anywhere must lose nothing but the cut record:
// every complete line reads back, and a cut inside a record (not the
// header) is one warning, never an error.
func TestATruncatedFileKeepsEveryCompleteRecord(t *testing.T) {
	good := validSession(t)
	all := sampleEvents()
	headerLen := len(firstLine(good))
	dir := t.TempDir()
	for cut := headerLen - 2; cut <= len(good); cut++ {
		data := good[:cut]
		path := filepath.Join(dir, "cut.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, r, err := tryReadAll(path)
		if cut < headerLen-1 {
			if err == nil || !strings.Contains(err.Error(), "truncated session header") {
				t.Fatalf("cut at %d (in the header): err = %v", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		lines := bytes.Count(data, []byte("\n"))
		lostNewline := cut < len(good) && good[cut] == '\n' // a whole record, short of its newline
		if lostNewline {
			lines++
		}
		want := min(lines-1, len(all))
		if len(got) != want || jsonLines(got) != jsonLines(all[:want]) {
			t.Fatalf("cut at %d: read %d events, want the %d complete ones", cut, len(got), want)
		}
		warnings := r.Warnings()
		switch {
		case cut >= len(good)-1:
			if len(warnings) != 0 {
				t.Fatalf("whole file: warnings %v", warnings)
			}
		case len(warnings) != 1:
			t.Fatalf("cut at %d: %d warnings, want exactly one: %v", cut, len(warnings), warnings)
		case lostNewline || data[cut-1] == '\n':
			if !strings.Contains(warnings[0].Msg, "without a trailer") {
				t.Fatalf("cut at %d: warning %v", cut, warnings[0])
			}
		default:
			if !strings.Contains(warnings[0].Msg, "torn final record") {
				t.Fatalf("cut at %d: warning %v", cut, warnings[0])
			}
			if start := int64(bytes.LastIndexByte(data, '\n') + 1); warnings[0].Pos.Offset != start {
				t.Fatalf("cut at %d: torn record reported at byte %d, want %d", cut, warnings[0].Pos.Offset, start)
			}
		}
	}
}

// A compressed recording cut anywhere after its header reads back a prefix
// of its events with one warning, never an error.
func TestATruncatedCompressedFileReadsBackAPrefix(t *testing.T) {
	for _, name := range []string{"s.jsonl.gz", "s.jsonl.zst"} {
		t.Run(name, func(t *testing.T) {
			all := manyEvents(400)
			path := filepathRecordFlushing(t, name, all, 50)
			full, _ := os.ReadFile(path)
			dir := t.TempDir()
			best := 0
			// Stepped cuts through the file, then every cut inside the
			// stream's last bytes, after the trailer (its checksum).
			var cuts []int
			for cut := len(full) / 20; cut < len(full)-12; cut += 1 + len(full)/300 {
				cuts = append(cuts, cut)
			}
			for cut := len(full) - 12; cut < len(full); cut++ {
				cuts = append(cuts, cut)
			}
			for _, cut := range cuts {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, full[:cut], 0o600); err != nil {
					t.Fatal(err)
				}
				got, r, err := tryReadAll(p)
				if err != nil {
					if strings.Contains(err.Error(), "header") {
						continue // cut before the header was complete
					}
					t.Fatalf("cut at %d of %d: %v", cut, len(full), err)
				}
				if jsonLines(got) != jsonLines(all[:len(got)]) {
					t.Fatalf("cut at %d: events are not a prefix", cut)
				}
				if len(r.Warnings()) != 1 {
					t.Fatalf("cut at %d: warnings %v", cut, r.Warnings())
				}
				best = max(best, len(got))
			}
			if best < len(all)*3/4 {
				t.Errorf("at best %d of %d events recovered: flushes do not reach the file", best, len(all))
			}
		})
	}
}

func manyEvents(n int) []event.Event {
	base := sampleEvents()
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = *base[i%len(base)].Clone()
		evs[i].Time = t0.Add(time.Duration(i) * time.Microsecond)
		evs[i].Pid = uint32(10000 + i)
	}
	return evs
}

// filepathRecordFlushing records events, flushing every `every` events as
// the tracer does when the ring runs dry.
func filepathRecordFlushing(t *testing.T, name string, evs []event.Event, every int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := session.Create(path, session.Options{Header: testHeader(), Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
		if i%every == every-1 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConcatenatedSessionsReadAsOneStream(t *testing.T) {
	evs := sampleEvents()
	a, _ := os.ReadFile(record(t, "a.jsonl", evs[:4], session.Options{}))
	b, _ := os.ReadFile(record(t, "b.jsonl", evs[4:], session.Options{}))
	path := writeFile(t, "ab.jsonl", append(a, b...))
	got, r := readAll(t, path)
	if jsonLines(got) != jsonLines(evs) || len(r.Warnings()) != 0 {
		t.Errorf("read %d events, warnings %v", len(got), r.Warnings())
	}
}

func TestStdinIsReadAsAStream(t *testing.T) {
	good := validSession(t)
	r, err := session.NewReader(bytes.NewReader(good), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := drain(r); err != nil || len(got) != len(sampleEvents()) {
		t.Errorf("read %d events, %v", len(got), err)
	}
}
