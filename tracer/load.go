package tracer

import (
	"cmp"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// loadCollection is ebpf.NewCollection, with the programs loaded
// concurrently: the maps are created first, then each program is loaded
// on its own with its map references resolved, as many at once as there
// are CPUs, all with the kernel's types from cache. Most of the start is
// the verifier, which checks one program at a time per load call; loaded
// in parallel they take the CPUs there are instead of one. The programs
// named in later are left out: they can be loaded with loadPrograms, into
// the same maps, if they turn out to be needed.
func loadCollection(spec *ebpf.CollectionSpec, cache *btf.Cache, later []string) (*ebpf.Collection, error) {
	mapsOnly := spec.Copy()
	mapsOnly.Programs = nil
	coll, err := ebpf.NewCollectionWithOptions(mapsOnly, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(spec.Programs))
	for name, p := range spec.Programs {
		if p.Type != ebpf.UnspecifiedProgram && !slices.Contains(later, name) {
			names = append(names, name)
		}
	}
	coll.Programs, err = loadPrograms(spec, names, coll.Maps, cache)
	if err != nil {
		coll.Close()
		return nil, err
	}
	return coll, nil
}

// loadPrograms loads spec's programs names in parallel, their map
// references resolved to maps. It returns all of them or none.
func loadPrograms(spec *ebpf.CollectionSpec, names []string, maps map[string]*ebpf.Map, cache *btf.Cache) (map[string]*ebpf.Program, error) {
	// The longest first: they take the longest to verify, and started
	// last they would leave a CPU idle at the end.
	names = slices.Clone(names)
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(len(spec.Programs[b].Instructions), len(spec.Programs[a].Instructions)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})

	var (
		progs = make([]*ebpf.Program, len(names))
		errs  = make([]error, len(names))
		next  = make(chan int)
		wg    sync.WaitGroup
		procs = min(runtime.NumCPU(), len(names))
	)
	for range procs {
		wg.Go(func() {
			for i := range next {
				progs[i], errs[i] = loadProgram(spec, names[i], maps, cache)
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	loaded := make(map[string]*ebpf.Program, len(names))
	for i, prog := range progs {
		if prog != nil {
			loaded[names[i]] = prog
		}
	}
	for _, err := range errs {
		if err != nil {
			for _, prog := range loaded {
				prog.Close()
			}
			return nil, err
		}
	}
	return loaded, nil
}

// loadProgram loads spec's program name alone, in a collection of its own
// whose maps are the given ones.
func loadProgram(spec *ebpf.CollectionSpec, name string, maps map[string]*ebpf.Map, cache *btf.Cache) (*ebpf.Program, error) {
	p := spec.Programs[name]
	one := &ebpf.CollectionSpec{
		Maps:      map[string]*ebpf.MapSpec{},
		Programs:  map[string]*ebpf.ProgramSpec{name: p},
		Types:     spec.Types,
		ByteOrder: spec.ByteOrder,
	}
	replace := map[string]*ebpf.Map{}
	for _, ins := range p.Instructions {
		ref := ins.Reference()
		if !ins.IsLoadFromMap() || ref == "" || replace[ref] != nil {
			continue
		}
		if maps[ref] == nil || spec.Maps[ref] == nil {
			return nil, fmt.Errorf("program %s: no map %s", name, ref)
		}
		one.Maps[ref], replace[ref] = spec.Maps[ref], maps[ref]
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: replace, Cache: cache})
	if err != nil {
		return nil, err
	}
	defer coll.Close() // its clones of the maps
	return coll.DetachProgram(name), nil
}

// laterPrograms are programs left out of the collection at load, loaded
// only if attach needs them: the tracepoints of hooks that fentry serves.
type laterPrograms struct {
	spec  *ebpf.CollectionSpec // the spec the collection was loaded from
	cache *btf.Cache
}

// loadLater loads those of names that are not in t.coll yet but wait in
// t.later, into t.coll, with t.coll's maps.
func (t *Tracer) loadLater(names []string) error {
	if t.later == nil {
		return nil
	}
	var missing []string
	for _, name := range names {
		if t.coll.Programs[name] == nil && t.later.spec.Programs[name] != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	progs, err := loadPrograms(t.later.spec, missing, t.coll.Maps, t.later.cache)
	if err != nil {
		return fmt.Errorf("load %s: %w", strings.Join(missing, ", "), err)
	}
	maps.Copy(t.coll.Programs, progs)
	return nil
}
