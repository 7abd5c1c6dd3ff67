package proccache

import (
	"testing"

	"github.com/nstrace/nstrace/gen"
)

func raw(tgid uint32, execID uint64, exe string) *gen.NstraceProc {
	r := &gen.NstraceProc{Tgid: tgid, ExecId: execID}
	for i := range min(len(exe), len(r.Exe)-1) {
		r.Exe[i] = int8(exe[i])
	}
	return r
}

// The cache never holds more than MaxEntries images, forgets one per new
// image past that, and a new exec of a pid is a new image.
func TestTheCacheIsBoundedAndKeyedByImage(t *testing.T) {
	var c Cache
	first := c.Get(raw(1, 1, "/bin/a"))
	if again := c.Get(raw(1, 1, "/bin/changed")); again != first {
		t.Error("one image decoded twice")
	}
	if next := c.Get(raw(1, 2, "/bin/b")); next == first || next.Exe != "/bin/b" {
		t.Errorf("a new exec of pid 1 gave %+v", next)
	}
	for i := range uint32(MaxEntries + 10) {
		c.Get(raw(100+i, 1, "/bin/x"))
	}
	if c.Len() != MaxEntries {
		t.Errorf("%d entries, want the bound %d", c.Len(), MaxEntries)
	}
	if p := c.Find(100+MaxEntries+9, 1); p == nil || c.Misses() != 0 {
		t.Errorf("the newest image is not held (%v, %d misses)", p, c.Misses())
	}
	if p := c.Find(7, 7); p != nil || c.Misses() != 1 {
		t.Errorf("an unknown image found %v (%d misses)", p, c.Misses())
	}
}

// Args are split at NULs, at most MaxArgs of them, and a cut is marked.
func TestDecodeBoundsArgs(t *testing.T) {
	r := raw(1, 1, "/bin/a")
	var argv []byte
	for range MaxArgs + 2 {
		argv = append(argv, 'a', 0)
	}
	for i, b := range argv {
		r.Args[i] = int8(b)
	}
	r.ArgsLen = uint16(len(argv))
	p := Decode(r)
	if len(p.Args) != MaxArgs || len(p.Truncated) != 1 || p.Truncated[0] != "args" {
		t.Errorf("%d args, truncated %v; want %d and [args]", len(p.Args), p.Truncated, MaxArgs)
	}
}

// Finding the image found last again is answered as the map would: once
// the bound made the cache forget it, it is a miss.
func TestFindForgetsWhatTheCacheForgot(t *testing.T) {
	var c Cache
	first := c.Get(raw(1, 1, "/bin/a"))
	for range 2 {
		if p := c.Find(1, 1); p != first {
			t.Fatalf("found %p, want %p", p, first)
		}
	}
	if p := c.Find(1, 2); p != nil || c.Misses() != 1 {
		t.Fatalf("another exec of pid 1 found %v (%d misses)", p, c.Misses())
	}
	if p := c.Find(1, 1); p != first {
		t.Fatalf("after a miss, found %p, want %p", p, first)
	}
	for i := uint32(0); c.Find(1, 1) != nil; i++ {
		if i > MaxEntries*64 {
			t.Fatal("the first image is never forgotten")
		}
		c.Get(raw(100+i, 1, "/bin/x"))
	}
	if c.Len() != MaxEntries || c.Misses() != 2 {
		t.Errorf("%d entries and %d misses, want %d and 2", c.Len(), c.Misses(), MaxEntries)
	}
}
