// Package inventorytest scans a fake host for tests: the tree
// testdata/mkhost.sh builds, with nsfs's answers from a table.
package inventorytest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// Root is the fake host's root: the tree testdata/mkhost.sh builds.
var Root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "host")
}()

// The inodes of the fake host's own namespaces (those of its init), and
// the pod its Kubernetes containers are in.
const (
	HostMnt    = 4026531832                             // HostMnt is the fake host's mnt namespace.
	HostNet    = 4026531833                             // HostNet is the fake host's net namespace.
	HostTime   = 4026531834                             // HostTime is the fake host's time namespace.
	HostCgroup = 4026531835                             // HostCgroup is the fake host's cgroup namespace.
	HostPid    = 4026531836                             // HostPid is the fake host's pid namespace.
	HostUser   = 4026531837                             // HostUser is the fake host's user namespace.
	HostUTS    = 4026531838                             // HostUTS is the fake host's uts namespace.
	HostIPC    = 4026531839                             // HostIPC is the fake host's ipc namespace.
	Pod        = "1c7f3a52-9a0e-4d7b-8c1a-2b3c4d5e6f70" // Pod is the uid of the fake host's pod.
)

// ID is how mkhost.sh makes container ids.
func ID(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Prober answers as nsfs would, from testdata/host/nsfacts.
func Prober(t testing.TB) inventory.Prober {
	f, err := os.Open(Root + "/nsfacts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := map[inventory.Key]inventory.Facts{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 6 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		typ, _ := inventory.ParseType(fields[0])
		num := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
		fc := inventory.Facts{Type: typ, Inode: uint32(num(fields[1])), NsID: num(fields[2]),
			Owner: uint32(num(fields[3])), Parent: uint32(num(fields[4]))}
		if fields[5] != "-" {
			uid := uint32(num(fields[5]))
			fc.OwnerUID = &uid
		}
		table[inventory.KeyOf(typ, fc.Inode)] = fc
	}
	return func(_ string, t event.NsType, ino uint32, known func(inventory.Key) bool) []inventory.Facts {
		var out []inventory.Facts
		var walk func(k inventory.Key, depth int)
		walk = func(k inventory.Key, depth int) {
			f, ok := table[k]
			if !ok || depth > inventory.MaxNesting || inventory.Holds(out, f.Type, f.Inode) {
				return
			}
			out = append(out, f)
			for _, rel := range []inventory.Key{inventory.KeyOf(event.User, f.Owner), inventory.KeyOf(f.Type, f.Parent)} {
				if !known(rel) {
					walk(rel, depth+1)
				}
			}
		}
		walk(inventory.KeyOf(t, ino), 0)
		return out
	}
}

// DeniedReadlink refuses /proc/390 as the kernel refuses another user's
// process, which a test running as root cannot arrange with file modes.
func DeniedReadlink(p string) (string, error) {
	if strings.Contains(p, "/proc/390/") {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: fs.ErrPermission}
	}
	return os.Readlink(p)
}

// Scan takes the fake host's inventory.
func Scan(t testing.TB) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Scan(inventory.ScanOptions{Root: Root, Probe: Prober(t), Readlink: DeniedReadlink})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// Find looks a namespace up in inv.
func Find(inv *inventory.Inventory, typ event.NsType, ino uint32) (inventory.Namespace, bool) {
	for _, n := range inv.Namespaces {
		if n.Type == typ && n.Inode == ino {
			return n, true
		}
	}
	return inventory.Namespace{}, false
}

// ThroughJSON is inv as a session file would carry it to another machine.
func ThroughJSON(t testing.TB, inv *inventory.Inventory) *inventory.Inventory {
	t.Helper()
	data, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var back inventory.Inventory
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}
