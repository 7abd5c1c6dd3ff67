// The ls table and JSON of a host's inventory, rendered by tracer/internal/render:
// of a fake host, which only this package's tests can scan, and of this one.
package resolve_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

func TestLsTableShowsLabelsAndNoControlCharacters(t *testing.T) {
	inv := inventorytest.Scan(t)
	inv.Namespaces = append(inv.Namespaces, inventory.Namespace{Type: event.Net, Inode: 4026532998,
		Names: []string{`x" (host) "y`}, Mounts: []string{`/run/netns/x" (host) "y`}})
	var out bytes.Buffer
	if err := render.WriteNamespaceTable(&out, inv.Namespaces); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if i := strings.IndexFunc(text, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
		t.Errorf("control character at %d:\n%q", i, text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != len(inv.Namespaces)+1 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "NS TYPE") {
		t.Fatalf("want a header and one line per namespace:\n%s", text)
	}
	for _, want := range []string{
		`4026531833 net`, `(host)`, `"sample1"`, `"\x1b]0;x\x07"`, `"we ird\nname"`,
		`ctr ` + inventorytest.ID("docker")[:12] + `…`, `pod 1c7f3a52-9a0…`, `unit nginx.service`, `machine my-box`,
		`(mount /run/netns/sample1)`, `(open fd)`, `"x\" (host) \"y"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "CREATED BY") {
		t.Error("a creator column without creators")
	}
}

func TestLsTableShowsCreators(t *testing.T) {
	ns := []inventory.Namespace{{Type: event.Net, Inode: 4026532900,
		Creator: &inventory.Creator{Pid: 42, Comm: "ip", Syscall: "unshare", Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}}}
	var out bytes.Buffer
	if err := render.WriteNamespaceTable(&out, ns); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "CREATED BY") || !strings.Contains(out.String(), "unshare by ip[42] at 03:04:05.000006") {
		t.Errorf("no creator:\n%s", out.String())
	}
}

func TestJSONLinesHoldOneNamespaceEach(t *testing.T) {
	inv := inventorytest.Scan(t)
	var out bytes.Buffer
	if err := render.WriteNamespaceJSON(&out, inv.Namespaces); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	var back []inventory.Namespace
	for sc.Scan() {
		var fields map[string]any
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		for _, k := range []string{"type", "inode", "processes"} {
			if _, ok := fields[k]; !ok {
				t.Errorf("no %q in %s", k, sc.Bytes())
			}
		}
		var n inventory.Namespace
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatal(err)
		}
		back = append(back, n)
	}
	if !reflect.DeepEqual(back, inv.Namespaces) {
		t.Error("JSON lines do not read back as the inventory")
	}
}

func TestKernelLsListsABindMountOnlyNetnsWithItsName(t *testing.T) {
	resolve.RequireRoot(t, "ip")
	for _, name := range []string{
		"nstrace-test-" + strconv.Itoa(os.Getpid()),
		"nstrace-\x1b]0;x\a-" + strconv.Itoa(os.Getpid()),
	} {
		resolve.Run(t, "ip", "netns", "add", name)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() }) // cleanup only
		mount := "/run/netns/" + name
		var st unix.Stat_t
		if err := unix.Stat(mount, &st); err != nil {
			t.Fatal(err)
		}
		inv, err := inventory.Scan(inventory.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := resolve.MustFind(t, inv, event.Net, uint32(st.Ino))
		if n.Name() != name || n.Processes != 0 || n.Host || n.Mounts[0] != mount {
			t.Errorf("%q: got %+v", name, n)
		}
		if want := testenv.NsInode(t, "/proc/self/ns/user"); n.Owner != want {
			t.Errorf("%q: owner %d, want %d", name, n.Owner, want)
		}
		if want := resolve.KernelNsID(t, mount); n.NsID != want {
			t.Errorf("%q: ns_id %d, want %d", name, n.NsID, want)
		}
		var text bytes.Buffer
		if err := render.WriteNamespaceTable(&text, []inventory.Namespace{n}); err != nil {
			t.Fatal(err)
		}
		if i := bytes.IndexFunc(text.Bytes(), func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
			t.Errorf("%q: control character in the table:\n%q", name, text.String())
		}
		if !strings.Contains(text.String(), `"`+render.Sanitize(name)+`"`) {
			t.Errorf("%q: name not in the table:\n%s", name, text.String())
		}
	}
}
