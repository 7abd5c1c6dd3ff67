package resolve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestTableShowsLabelsAndNoControlCharacters(t *testing.T) {
	inv := scanFake(t)
	inv.Namespaces = append(inv.Namespaces, Namespace{Type: event.Net, Inode: 4026532998,
		Names: []string{`x" (host) "y`}, Mounts: []string{`/run/netns/x" (host) "y`}})
	var out bytes.Buffer
	if err := WriteTable(&out, inv.Namespaces); err != nil {
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
		`ctr ` + fakeID("docker")[:12] + `…`, `pod 1c7f3a52-9a0…`, `unit nginx.service`, `machine my-box`,
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

func TestTableShowsCreators(t *testing.T) {
	ns := []Namespace{{Type: event.Net, Inode: 4026532900,
		Creator: &Creator{Pid: 42, Comm: "ip", Syscall: "unshare", Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}}}
	var out bytes.Buffer
	if err := WriteTable(&out, ns); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "CREATED BY") || !strings.Contains(out.String(), "unshare by ip[42] at 03:04:05.000006") {
		t.Errorf("no creator:\n%s", out.String())
	}
}

func TestJSONLinesHoldOneNamespaceEach(t *testing.T) {
	inv := scanFake(t)
	var out bytes.Buffer
	if err := WriteJSONLines(&out, inv.Namespaces); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	var back []Namespace
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
		var n Namespace
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatal(err)
		}
		back = append(back, n)
	}
	if !reflect.DeepEqual(back, inv.Namespaces) {
		t.Error("JSON lines do not read back as the inventory")
	}
}
