package proccache

import (
	"reflect"
	"testing"

	"github.com/nstrace/nstrace/gen"
)

func setString(dst []int8, s string) {
	for i := range dst {
		dst[i] = 0
	}
	for i := range min(len(s), len(dst)-1) {
		dst[i] = int8(s[i])
	}
}

// forked is the identity a forked child of a shell sends.
func forked(tgid uint32) *gen.NstraceProc {
	r := raw(tgid, uint64(tgid), "/usr/bin/bash")
	argv := "bash\x00-c\x00unshare -u true\x00"
	for i := range len(argv) {
		r.Args[i] = int8(argv[i])
	}
	r.ArgsLen = uint16(len(argv))
	r.NrAncestors = 2
	r.Ancestors[0].Pid = 4100
	setString(r.Ancestors[0].Comm[:], "bash")
	setString(r.Ancestors[0].Exe[:], "/usr/bin/bash")
	r.Ancestors[1].Pid = 1
	setString(r.Ancestors[1].Comm[:], "systemd")
	return r
}

// Images whose bytes are the same share one decoded identity, whatever
// the record held past each string's end, past the args it sent and in
// the ancestor slots it did not fill; any difference in what is decoded
// makes another, equal to decoding it afresh.
func TestSameIdentitiesAreDecodedOnce(t *testing.T) {
	var c Cache
	first := c.Get(forked(200))
	stale := forked(201)
	stale.Exe[len("/usr/bin/bash")+1] = 'x'
	stale.Args[stale.ArgsLen+3] = 'y'
	stale.Ancestors[0].Comm[10] = 'z'
	stale.Ancestors[2].Pid = 99
	stale.SentNs = 12345
	if got := c.Get(stale); got != first {
		t.Errorf("a sibling with the same identity was decoded again: %+v", got)
	}
	for name, change := range map[string]func(r *gen.NstraceProc){
		"exe":           func(r *gen.NstraceProc) { setString(r.Exe[:], "/usr/bin/dash") },
		"exe_arg":       func(r *gen.NstraceProc) { setString(r.ExeArg[:], "/bin/bash") },
		"flags":         func(r *gen.NstraceProc) { r.Flags = uint8(gen.NstraceProcFlagPROC_NS_INIT) },
		"args":          func(r *gen.NstraceProc) { r.Args[0] = 'B' },
		"args length":   func(r *gen.NstraceProc) { r.ArgsLen -= 5 },
		"ancestors":     func(r *gen.NstraceProc) { r.NrAncestors = 1 },
		"ancestor pid":  func(r *gen.NstraceProc) { r.Ancestors[0].Pid = 4101 },
		"ancestor comm": func(r *gen.NstraceProc) { setString(r.Ancestors[1].Comm[:], "init") },
		"ancestor exe":  func(r *gen.NstraceProc) { setString(r.Ancestors[1].Exe[:], "/sbin/init") },
	} {
		r := forked(300)
		change(r)
		got := c.Get(r)
		if got == first {
			t.Errorf("%s: another identity shares the first one's", name)
		}
		if want := Decode(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
		delete(c.m, key{300, 300})
	}
}

// The identities remembered by content are bounded too.
func TestContentsAreBounded(t *testing.T) {
	var c Cache
	for i := range uint32(maxContents + 10) {
		r := forked(1000 + i)
		r.Ancestors[0].Pid = i
		c.Get(r)
	}
	if n := len(c.same.m); n != maxContents {
		t.Errorf("%d identities held, want the bound %d", n, maxContents)
	}
}
