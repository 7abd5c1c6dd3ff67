package tracer

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// loadCollection is ebpf.NewCollection, with the programs loaded
// concurrently: the maps are created first, then each program is loaded
// on its own with its map references resolved, as many at once as there
// are CPUs, all with the kernel's types from cache. Most of the start is
// the verifier, which checks one program at a time per load call; loaded
// in parallel they take the CPUs there are instead of one.
func loadCollection(spec *ebpf.CollectionSpec, cache *btf.Cache) (*ebpf.Collection, error) {
	mapsOnly := spec.Copy()
	mapsOnly.Programs = nil
	coll, err := ebpf.NewCollectionWithOptions(mapsOnly, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return nil, err
	}
	coll.Programs = make(map[string]*ebpf.Program, len(spec.Programs))

	// The longest first: they take the longest to verify, and started
	// last they would leave a CPU idle at the end.
	names := make([]string, 0, len(spec.Programs))
	for name, p := range spec.Programs {
		if p.Type != ebpf.UnspecifiedProgram {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(len(spec.Programs[b].Instructions), len(spec.Programs[a].Instructions)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})

	var (
		mu    sync.Mutex
		errs  = make([]error, len(names))
		next  = make(chan int)
		wg    sync.WaitGroup
		procs = min(runtime.NumCPU(), len(names))
	)
	for range procs {
		wg.Go(func() {
			for i := range next {
				prog, err := loadProgram(spec, names[i], coll.Maps, cache)
				if err != nil {
					errs[i] = err
					continue
				}
				mu.Lock()
				coll.Programs[names[i]] = prog
				mu.Unlock()
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			coll.Close()
			return nil, err
		}
	}
	return coll, nil
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
