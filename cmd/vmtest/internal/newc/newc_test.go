package newc

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
)

// entry is one parsed archive member.
type entry struct {
	name         string
	ino, mode    uint32
	nlink        uint32
	rmajor, rmin uint32
	data         string
}

// parse reads a newc archive the way the kernel's unpacker does and
// returns its entries, the trailer included.
func parse(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	align := func() { off = (off + 3) &^ 3 }
	for {
		if off+110 > len(b) {
			t.Fatalf("truncated header at offset %d", off)
		}
		h := string(b[off : off+110])
		if !strings.HasPrefix(h, "070701") {
			t.Fatalf("bad magic %q at offset %d", h[:6], off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				t.Fatalf("field %d at offset %d: %v", i, off, err)
			}
			return uint32(v)
		}
		e := entry{ino: field(0), mode: field(1), nlink: field(4), rmajor: field(9), rmin: field(10)}
		if uid, gid, check := field(2), field(3), field(12); uid != 0 || gid != 0 || check != 0 {
			t.Errorf("uid/gid/check = %d/%d/%d, want zeros", uid, gid, check)
		}
		size, namesize := int(field(6)), int(field(11))
		off += 110
		name := b[off : off+namesize]
		if name[namesize-1] != 0 {
			t.Fatalf("name at offset %d is not NUL-terminated", off)
		}
		e.name = string(name[:namesize-1])
		off += namesize
		align()
		e.data = string(b[off : off+size])
		off += size
		align()
		out = append(out, e)
		if e.name == Trailer {
			if off != len(b) {
				t.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, err := range []error{
		w.Dir("bin", 0o755),
		w.File("bin/busybox", 0o755, strings.NewReader("#!busybox"), 9),
		w.Symlink("bin/sh", "busybox"),
		w.Dir("dev", 0o755),
		w.CharDev("dev/console", 0o600, 5, 1),
		w.File("empty", 0o644, nil, 0),
		w.File("four", 0o600, strings.NewReader("abcd"), 4),
		w.Close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive is %d bytes, not a multiple of 4", buf.Len())
	}

	want := []entry{
		{name: "bin", ino: 1, mode: 0o040755, nlink: 2},
		{name: "bin/busybox", ino: 2, mode: 0o100755, nlink: 1, data: "#!busybox"},
		{name: "bin/sh", ino: 3, mode: 0o120777, nlink: 1, data: "busybox"},
		{name: "dev", ino: 4, mode: 0o040755, nlink: 2},
		{name: "dev/console", ino: 5, mode: 0o020600, nlink: 1, rmajor: 5, rmin: 1},
		{name: "empty", ino: 6, mode: 0o100644, nlink: 1},
		{name: "four", ino: 7, mode: 0o100600, nlink: 1, data: "abcd"},
		{name: Trailer, ino: 0, mode: 0, nlink: 1},
	}
	got := parse(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		add  func(w *Writer) error
		want string
	}{
		{"an absolute name is rejected", func(w *Writer) error { return w.Dir("/bin", 0o755) }, "must be relative"},
		{"an empty name is rejected", func(w *Writer) error { return w.Dir("", 0o755) }, "must be relative"},
		{"the trailer's name is rejected", func(w *Writer) error { return w.Dir(Trailer, 0o755) }, "trailer"},
		{"short data is an error", func(w *Writer) error {
			return w.File("f", 0o644, strings.NewReader("ab"), 3)
		}, "got 2 bytes of data, want 3"},
		{"adding after Close is an error", func(w *Writer) error {
			w.Close()
			return w.Dir("d", 0o755)
		}, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.add(NewWriter(io.Discard))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriterPadsNamesAndData(t *testing.T) {
	// Header (110) + "ab\0" (3) = 113 → padded to 116; data 1 byte → 120.
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.File("ab", 0o644, strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if got := buf.Len(); got != 120 {
		t.Errorf("one entry is %d bytes, want 120", got)
	}
	if got := buf.String()[113:116]; got != "\x00\x00\x00" {
		t.Errorf("name padding = %q, want three NULs", got)
	}
	if got := buf.Bytes()[116:120]; !bytes.Equal(got, []byte{120, 0, 0, 0}) {
		t.Errorf("data and padding = %v, want [120 0 0 0]", got)
	}
}
