package tracer

import (
	"maps"
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// With fentry loaded, only the syscall tracepoints of the hooks fentry
// serves wait to be loaded; a hook missing one of its fentry programs, and
// the hooks without an fentry form (fork, procexec), load theirs at once.
func TestFentryFallbacksAreTheTracepointsOfHooksFentryServes(t *testing.T) {
	spec, err := gen.LoadNstrace()
	if err != nil {
		t.Fatal(err)
	}
	has := func(name string) bool { return spec.Programs[name] != nil }
	unshareSetns := []string{
		gen.NstraceProgUnshareEnter, gen.NstraceProgUnshareExit,
		gen.NstraceProgSetnsEnter, gen.NstraceProgSetnsExit,
	}
	clone := []string{
		gen.NstraceProgCloneEnter, gen.NstraceProgCloneExit,
		gen.NstraceProgClone3Enter, gen.NstraceProgClone3Exit,
	}
	exec := []string{
		gen.NstraceProgExecveEnter, gen.NstraceProgExecveExit,
		gen.NstraceProgExecveatEnter, gen.NstraceProgExecveatExit,
	}
	check := func(what string, want []string) {
		t.Helper()
		got := fentryFallbacks(has)
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: left for later %q, want %q", what, got, want)
		}
		for _, name := range got {
			if spec.Programs[name] == nil || spec.Programs[name].Type != ebpf.TracePoint {
				t.Errorf("%s: %s left for later is not a tracepoint program of the object", what, name)
			}
		}
	}
	check("every fentry program", slices.Concat(unshareSetns, clone, exec))
	dropFentry(spec, func(target string) bool { return target == "begin_new_exec" })
	check("no begin_new_exec", slices.Concat(unshareSetns, clone))
	dropFentry(spec, nil)
	check("no fentry", nil)
}

// The tracepoint programs left for later are loaded as they are attached,
// into the maps the rest use: the tracer ends up as the one that loaded
// them at once, the same hooks the same way and the same programs, and each
// of those reads and writes only the collection's maps. fentry is taken
// away (no program) so that this runs the same on every kernel.
func TestLaterTracepointsLoadIntoTheSameMaps(t *testing.T) {
	testenv.RequireKernel(t)
	noFentry := func(spec *ebpf.CollectionSpec) { dropFentry(spec, nil) }
	open := func(deferFallbacks bool) *Tracer {
		t.Helper()
		tr, err := Open(Options{Hooks: HooksAuto, tune: noFentry, deferFallbacks: deferFallbacks})
		if err != nil {
			t.Fatalf("open (fallbacks deferred: %v): %v", deferFallbacks, err)
		}
		return tr
	}
	now := open(false)
	defer now.Close()
	later := open(true)
	defer later.Close()

	if got, want := hookSummary(later.Hooks()), hookSummary(now.Hooks()); got != want {
		t.Errorf("hooks with fallbacks loaded when attached:\n %s\nloaded at once:\n %s", got, want)
	}
	if later.later != nil {
		t.Error("programs still waiting to load once Open returned")
	}
	if got, want := programNames(later.coll), programNames(now.coll); !slices.Equal(got, want) {
		t.Errorf("programs loaded: %q, want %q", got, want)
	}
	gotLinks, wantLinks := linkTypesOf(t, later.coll), linkTypesOf(t, now.coll)
	if len(gotLinks) != len(wantLinks) {
		t.Errorf("links by type %v, want %v", gotLinks, wantLinks)
	}
	for typ, n := range wantLinks {
		if gotLinks[typ] != n {
			t.Errorf("links by type %v, want %v", gotLinks, wantLinks)
		}
	}

	ours := map[ebpf.MapID]bool{}
	for _, m := range later.coll.Maps {
		info, err := m.Info()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := info.ID()
		ours[id] = true
	}
	for _, name := range fentryFallbacks(func(string) bool { return true }) {
		info, err := later.coll.Programs[name].Info()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids, ok := info.MapIDs()
		if !ok || len(ids) == 0 {
			t.Fatalf("%s: no map ids (%v)", name, ok)
		}
		for _, id := range ids {
			if !ours[id] {
				t.Errorf("%s uses map %d, not one of the collection's", name, id)
			}
		}
	}
}

func programNames(coll *ebpf.Collection) []string {
	return slices.Sorted(maps.Keys(coll.Programs))
}
