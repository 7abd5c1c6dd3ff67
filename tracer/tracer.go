package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/ring"
	"github.com/nstrace/nstrace/tracer/internal/tracefs"
)

// defaultRingSize holds about 160 000 single-change records: 0.15 s of the
// worst setns churn (a million calls a second, traced), enough to ride out a
// reader slowed for a moment.
const defaultRingSize = 16 << 20

// defaultPollInterval bounds how long an isolated event waits in the ring:
// the programs do not wake the reader for every record.
const defaultPollInterval = 50 * time.Millisecond

// DefaultDrainTimeout bounds how long Run goes on delivering what the ring
// holds once its context ends.
const DefaultDrainTimeout = 2 * time.Second

// Options configure a Tracer. The zero value traces everything.
type Options struct {
	// RingSize is the ring buffer's size in bytes: a power of two from a
	// page to 2 GiB. 0: 16 MiB, about 160 000 records. The ring is mapped
	// once: it costs its size in resident memory.
	RingSize int
	Pid      uint32         // trace only this process (tgid); 0: all
	Types    []event.NsType // report only these namespace types; nil: all
	Hooks    string         // HooksAuto (also ""), HooksTracepoint or HooksFentry
	// PollInterval is the longest an event waits in the ring before it is
	// delivered: the programs do not wake the reader for every record.
	// 0 or less: 50 ms.
	PollInterval time.Duration
	// DrainTimeout bounds the drain once Run's context ends: past it, what
	// the ring still holds is counted as lost (Stats.Shutdown). 0 means
	// DefaultDrainTimeout; negative, no drain at all.
	DrainTimeout time.Duration
	FloodRate    int // events/s each uid and each cgroup may send; 0: DefaultFloodRate, < 0: no limit
	FloodBurst   int // events each may send at once; 0: DefaultFloodBurst

	tune func(*ebpf.CollectionSpec) // tests: change the spec before load
	// tests: leave the fallback tracepoint programs to be loaded as they
	// are attached, as when fentry loads, though here it did not.
	deferFallbacks bool
}

// Tracer owns the loaded BPF objects and their attachments.
type Tracer struct {
	opts  Options
	coll  *ebpf.Collection
	links []link.Link
	hooks []Hook
	notes []string // things done to the system on the way, for the user

	fentryLoaded bool           // the fentry programs are in coll
	fentryErr    error          // why not
	later        *laterPrograms // programs not loaded yet, until attach is done
	reader       *ring.Reader
	clock        bootClock

	stopMu sync.Mutex // held while detaching, by Run's stop or Close
	closed bool       // Close ran: the reader is gone

	running atomic.Bool  // Run has not returned
	drainBy atomic.Int64 // once Run's context ended: when the drain ends (Unix ns)

	floods     floods
	delivered  atomic.Uint64
	aggregated atomic.Uint64 // events counted in flood records
	lost       [gen.NstraceDropCauseDROP_CAUSES]atomic.Uint64
	shutdown   atomic.Uint64 // records left in the ring when the drain ran out of time
}

// Stats counts what the tracer delivered and what the kernel dropped. The
// counts saturate at math.MaxUint64 instead of wrapping.
type Stats struct {
	Events      uint64 // records delivered
	Flooded     uint64 // events counted in flood records instead of delivered
	Lost        uint64 // all drops
	RingFull    uint64 // the ring buffer had no room
	PendingFull uint64 // too many calls in flight to remember one
	Shutdown    uint64 // left unread when the drain at shutdown ran out of time
	FloodFull   uint64 // an event past its share found no room to be counted
}

// Open checks the environment, loads the programs and attaches them.
func Open(opts Options) (*Tracer, error) {
	if opts.RingSize == 0 {
		opts.RingSize = defaultRingSize
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.FloodRate == 0 {
		opts.FloodRate = DefaultFloodRate
	}
	if opts.FloodBurst <= 0 {
		opts.FloodBurst = DefaultFloodBurst
	}
	switch opts.Hooks {
	case "":
		opts.Hooks = HooksAuto
	case HooksAuto, HooksTracepoint, HooksFentry:
	default:
		return nil, fmt.Errorf("unknown hook set %q (want auto, tracepoint or fentry)", opts.Hooks)
	}
	if err := ring.CheckSize(int64(opts.RingSize)); err != nil {
		return nil, err
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, fmt.Errorf("%w: /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF", ErrNoBTF)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, permissionError("remove memlock limit", err, []caps.Cap{caps.BPF})
	}
	t := &Tracer{opts: opts, clock: newBootClock()}
	mounted, err := ensureTracefs()
	if err != nil {
		return nil, err
	}
	if mounted {
		t.notes = append(t.notes, "mounted tracefs at "+tracefs.Path)
	}
	if err := t.load(); err != nil {
		return nil, err
	}
	if err := t.attach(); err != nil {
		t.Close()
		return nil, err
	}
	rd, err := ring.NewReader(t.coll.Maps[gen.NstraceMapEvents])
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	t.reader = rd
	return t, nil
}

func (t *Tracer) load() error {
	// The kernel's types, decoded once: for fentry's targets, for
	// bpf_rdonly_cast, and for every program's CO-RE relocations; decoded
	// on another CPU while our own programs are parsed (an error is met
	// again, and returned, where they are used).
	cache := btf.NewCache()
	go func() { _, _ = cache.Kernel() }()
	spec, err := gen.LoadNstrace()
	if err != nil {
		return fmt.Errorf("load BPF spec: %w", err)
	}
	spec.Maps[gen.NstraceMapEvents].MaxEntries = uint32(t.opts.RingSize)
	mask := uint32(0)
	for _, ty := range t.opts.Types {
		mask |= 1 << ty
	}
	if len(t.opts.Types) == 0 {
		mask = 1<<event.NumNsTypes - 1
	}
	err = setConfig(spec, func(c *gen.NstraceConfig) {
		c.RdonlyCast = boolByte(hasKfunc(cache, "bpf_rdonly_cast"))
		c.FilterTgid = t.opts.Pid
		c.TypeMask = mask
		c.WakeupBytes = uint64(t.opts.RingSize / 8)
		c.WakeupGapNs = uint64(t.opts.PollInterval)
		floodConfig(c, t.opts)
	})
	if err != nil {
		return err
	}

	if t.opts.tune != nil {
		t.opts.tune(spec)
	}
	if t.opts.Hooks == HooksTracepoint {
		t.fentryErr = errors.New("not requested (--hooks tracepoint)")
		dropFentry(spec, nil)
	} else {
		t.fentryErr = dropUnusableFentry(spec, cache)
	}
	t.fentryLoaded = t.fentryErr == nil
	hasProgram := func(name string) bool { return spec.Programs[name] != nil }
	if t.opts.deferFallbacks {
		hasProgram = func(string) bool { return true }
	}
	later := fentryFallbacks(hasProgram)
	coll, loaded, err := newCollection(spec, cache, later)
	if err != nil && t.fentryLoaded {
		// The kernel took a probe but not our programs: use tracepoints.
		t.fentryErr = fmt.Errorf("load fentry programs: %w", err)
		t.fentryLoaded = false
		dropFentry(spec, nil)
		later = nil
		coll, loaded, err = newCollection(spec, cache, later)
	}
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return fmt.Errorf("load BPF programs: %w", err)
		}
		return permissionError("load BPF programs", err, []caps.Cap{caps.BPF, caps.Perfmon})
	}
	if t.opts.Hooks == HooksFentry && !t.fentryLoaded {
		coll.Close()
		return fmt.Errorf("--hooks fentry: %w: %w", ErrHookUnavailable, t.fentryErr)
	}
	t.coll = coll
	if len(later) > 0 {
		t.later = &laterPrograms{spec: loaded, cache: cache}
	}
	return nil
}

// newCollection loads spec. Where the kernel refuses it, it tries again
// without bpf_rdonly_cast (a kernel may list the kfunc yet not let these
// programs call it), then also without task storage, keeping per-call
// state in the hash map: the programs choose by the rdonly_cast and
// use_task_storage constants, and the verifier drops the branches not
// taken. The error is the first load's. The programs named in later are
// not loaded; the spec returned is the one that loaded, to load them from
// into the same maps.
func newCollection(spec *ebpf.CollectionSpec, cache *btf.Cache, later []string) (*ebpf.Collection, *ebpf.CollectionSpec, error) {
	coll, err := loadCollection(spec, cache, later)
	if err == nil {
		return coll, spec, nil
	}
	fallback := spec.Copy()
	cast := false
	if err := setConfig(fallback, func(c *gen.NstraceConfig) { cast, c.RdonlyCast = c.RdonlyCast != 0, 0 }); err != nil {
		return nil, nil, err
	}
	if cast {
		if coll, err2 := loadCollection(fallback, cache, later); err2 == nil {
			return coll, fallback, nil
		}
	}
	if err := setConfig(fallback, func(c *gen.NstraceConfig) { c.UseTaskStorage = 0 }); err != nil {
		return nil, nil, err
	}
	// Still referenced, never used: any map the kernel has will do.
	for _, name := range []string{gen.NstraceMapPendingTs, gen.NstraceMapExecTs} {
		ts := fallback.Maps[name]
		ts.Type, ts.MaxEntries, ts.Flags = ebpf.Hash, 1, 0
	}
	if coll, err2 := loadCollection(fallback, cache, later); err2 == nil {
		return coll, fallback, nil
	}
	return nil, nil, err
}

// hasKfunc reports whether the kernel's BTF has the kfunc name.
func hasKfunc(cache *btf.Cache, name string) bool {
	kernel, err := cache.Kernel()
	if err != nil {
		return false
	}
	var fn *btf.Func
	return kernel.TypeByName(name, &fn) == nil
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// setConfig changes the programs' settings (struct config in bpf/state.h),
// one constant, starting from the defaults the C gives them.
func setConfig(spec *ebpf.CollectionSpec, change func(*gen.NstraceConfig)) error {
	v := spec.Variables[gen.NstraceVarCfg]
	if v == nil {
		return errors.New("set BPF settings: no cfg variable")
	}
	var c gen.NstraceConfig
	if err := v.Get(&c); err != nil {
		return fmt.Errorf("read BPF settings: %w", err)
	}
	change(&c)
	if err := v.Set(c); err != nil {
		return fmt.Errorf("set BPF settings: %w", err)
	}
	return nil
}

// Hooks reports every hook and whether it attached.
func (t *Tracer) Hooks() []Hook { return append([]Hook(nil), t.hooks...) }

// Notes lists what Open changed on the system to trace (e.g. mounted tracefs).
func (t *Tracer) Notes() []string { return t.notes }

// Stats returns counts so far. Losses are read from the kernel when the
// reader is idle and when Run returns.
func (t *Tracer) Stats() Stats {
	s := Stats{
		Events:      t.delivered.Load(),
		RingFull:    t.lost[gen.NstraceDropCauseDROP_RING_FULL].Load(),
		PendingFull: t.lost[gen.NstraceDropCauseDROP_PENDING_FULL].Load(),
		Shutdown:    t.shutdown.Load(),
		FloodFull:   t.lost[gen.NstraceDropCauseDROP_FLOOD_FULL].Load(),
		Flooded:     t.aggregated.Load(),
	}
	s.Lost = sumCount([]uint64{s.RingFull, s.PendingFull, s.FloodFull, s.Shutdown})
	return s
}

// RingFill is the fraction of the ring buffer holding unread records.
func (t *Tracer) RingFill() float64 {
	if t.reader == nil {
		return 0
	}
	return float64(t.reader.AvailableBytes()) / float64(t.reader.Size())
}

// Close detaches every hook and frees the BPF objects. It waits for a detach
// that Run started when its context ended. Closing twice is harmless.
func (t *Tracer) Close() error {
	t.stopMu.Lock()
	defer t.stopMu.Unlock()
	if t.closed {
		return nil
	}
	t.detach()
	if t.running.Load() {
		// The caller gave up on Run (Abandon) and is about to exit: the
		// reader and the maps stay, since Run may still be reading them.
		return nil
	}
	t.closed = true
	var errs []error
	if t.reader != nil {
		errs = append(errs, t.reader.Close())
	}
	if t.coll != nil {
		t.coll.Close()
	}
	return errors.Join(errs...)
}
