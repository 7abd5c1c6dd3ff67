package resolve

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

// fakeRoot is the tree testdata/mkhost.sh builds.
const fakeRoot = "testdata/host"

// fakeID is how mkhost.sh makes container ids.
func fakeID(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// fakeProber answers as nsfs would, from testdata/host/nsfacts.
func fakeProber(t testing.TB) prober {
	f, err := os.Open(fakeRoot + "/nsfacts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := map[nsKey]facts{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 6 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		typ, _ := ParseType(fields[0])
		num := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
		fc := facts{Type: typ, Inode: uint32(num(fields[1])), NsID: num(fields[2]),
			Owner: uint32(num(fields[3])), Parent: uint32(num(fields[4]))}
		if fields[5] != "-" {
			uid := uint32(num(fields[5]))
			fc.OwnerUID = &uid
		}
		table[keyOf(typ, fc.Inode)] = fc
	}
	return func(_ string, t event.NsType, ino uint32, known func(nsKey) bool) []facts {
		var out []facts
		var walk func(k nsKey, depth int)
		walk = func(k nsKey, depth int) {
			f, ok := table[k]
			if !ok || depth > maxNesting || holds(out, f.Type, f.Inode) {
				return
			}
			out = append(out, f)
			for _, rel := range []nsKey{keyOf(event.User, f.Owner), keyOf(f.Type, f.Parent)} {
				if !known(rel) {
					walk(rel, depth+1)
				}
			}
		}
		walk(keyOf(t, ino), 0)
		return out
	}
}

// deniedReadlink refuses /proc/390 as the kernel refuses another user's
// process, which a test running as root cannot arrange with file modes.
func deniedReadlink(p string) (string, error) {
	if strings.Contains(p, "/proc/390/") {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: fs.ErrPermission}
	}
	return os.Readlink(p)
}

func scanFake(t testing.TB) *Inventory {
	t.Helper()
	inv, err := Scan(ScanOptions{Root: fakeRoot, probe: fakeProber(t), readlink: deniedReadlink})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func find(inv *Inventory, typ event.NsType, ino uint32) (Namespace, bool) {
	for _, n := range inv.Namespaces {
		if n.Type == typ && n.Inode == ino {
			return n, true
		}
	}
	return Namespace{}, false
}

// throughJSON is inv as a session file would carry it to another machine.
func throughJSON(t testing.TB, inv *Inventory) *Inventory {
	t.Helper()
	data, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var back Inventory
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}
