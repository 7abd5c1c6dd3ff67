package report

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/session"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is a session recorded on a real machine: see testdata/README.
const fixture = "testdata/session.jsonl"

// buildReport reads session files as `nstrace report` does without a
// filter: through the pipeline, resolved from the first header's inventory
// alone, as replay does, with the built-in detection rules.
func buildReport(tb testing.TB, paths ...string) *Report {
	tb.Helper()
	return buildReportWith(tb, nil, paths...)
}

// buildReportWith reads session files as buildReport does; with after, in
// place of the rules, which is called with each event the Builder took.
func buildReportWith(tb testing.TB, after func(*Builder, *event.Event), paths ...string) *Report {
	tb.Helper()
	r, err := session.Open(paths...)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var inv inventory.Inventory
	res := resolve.New(nil, resolve.WithoutLiveLookups())
	if ok, err := r.First().DecodeInventory(&inv); err != nil {
		tb.Fatal(err)
	} else if ok {
		res = resolve.New(&inv, resolve.WithoutLiveLookups())
	}
	b := NewBuilder(Options{Lookup: res.Lookup})
	o := pipeline.Options{Resolver: res, Sinks: []pipeline.Sink{builderSink{b, after}}}
	if after == nil {
		o.Detector = detect.New(nil, detect.WithNamespaces(res))
	}
	p := pipeline.New(o)
	p.Session(r.First())
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		p.Session(r.Header())
		if err := p.Event(ev); err != nil {
			tb.Fatal(err)
		}
	}
	if err := p.Finish(); err != nil {
		tb.Fatal(err)
	}
	return b.Report()
}

// builderSink is the Builder as a sink of the pipeline, as nstrace report
// has it; after, when set, sees each event the Builder took.
type builderSink struct {
	*Builder
	after func(*Builder, *event.Event)
}

func (s builderSink) WriteEvent(ev *event.Event) error {
	if err := s.Builder.WriteEvent(ev); err != nil {
		return err
	}
	if s.after != nil {
		s.after(s.Builder, ev)
	}
	return nil
}

func (s builderSink) WriteAlert(a *detect.Alert) error {
	s.Alert(a.Rule, a.Severity.String(), a.Message, a.Trigger)
	return nil
}

func writePage(tb testing.TB, r *Report) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r, "test"); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// structure is the shape of a report as text: its groups in order, each
// lane with its type, inode and label, and its marks counted by kind. The
// browser test derives the same text from the DOM the page draws.
func structure(r *Report) string {
	var b strings.Builder
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "group %s\n", g.Name)
		for _, i := range g.Lanes {
			l := &r.Lanes[i]
			m := l.Marks
			b.WriteString(laneLine(l.Kind.String(), l.Type.String(), l.Inode, l.Label,
				map[string]int{"create": m.Create, "join": m.Join, "destroy": m.Destroy,
					"failed": m.Failed, "lost": m.Lost, "alert": m.Alert}))
		}
	}
	return b.String()
}

// laneLine is one lane of structure: `lane net 4026532177 "demo": create 1, join 2`.
func laneLine(kind, typ string, inode uint32, label string, marks map[string]int) string {
	var b strings.Builder
	if kind == NamespaceLane.String() {
		fmt.Fprintf(&b, "  lane %s %d %s:", typ, inode, label)
	} else {
		fmt.Fprintf(&b, "  lane %s:", label)
	}
	sep := " "
	for _, k := range []string{"create", "join", "destroy", "failed", "lost", "alert"} {
		if marks[k] > 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, k, marks[k])
			sep = ", "
		}
	}
	if sep == " " {
		b.WriteString(" no marks")
	}
	b.WriteByte('\n')
	return b.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}
