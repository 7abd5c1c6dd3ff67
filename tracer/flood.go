package tracer

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
)

// Each uid and each cgroup may send this many events a second, and this
// many at once, before the kernel counts the events of a source past both
// shares in flood records instead of sending them (bpf/flood.h).
const (
	DefaultFloodRate  = 1000
	DefaultFloodBurst = 5000
)

// floodInterval is how often the counts become flood records.
const floodInterval = time.Second

// ringHeadroom is the part of the ring that only critical events may fill.
const ringHeadroom = 4 // a quarter

// floods tracks which of the two count maps the programs write.
type floods struct {
	side uint32
	last time.Time
}

// floodConfig puts opts' flood accounting in the programs' settings.
func floodConfig(c *gen.NstraceConfig, opts Options) {
	var step, burst uint64
	if opts.FloodRate > 0 {
		step = uint64(time.Second) / uint64(opts.FloodRate)
		burst = uint64(opts.FloodBurst) * step
	}
	c.FloodStepNs, c.FloodBurstNs = step, burst
	c.RingLimit = uint64(opts.RingSize - opts.RingSize/ringHeadroom)
	c.HostNetInum, c.HostMntInum = hostNetMnt()
}

// hostNetMnt reads the host's net and mnt namespace inodes, which kernels
// before 6.18 number dynamically, from pid 1 when it is the host's init (we
// run in the initial pid namespace); 0 where unknown.
func hostNetMnt() (net, mnt uint32) {
	const initialPid = 0xEFFFFFFC
	if nsInum("/proc/self/ns/pid") != initialPid {
		return 0, 0
	}
	return nsInum("/proc/1/ns/net"), nsInum("/proc/1/ns/mnt")
}

func nsInum(path string) uint32 {
	s, err := os.Readlink(path)
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if err != nil || i < 0 || j < i {
		return 0
	}
	n, err := strconv.ParseUint(s[i+1:j], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// reportFloods turns the counts of the map the programs left a period ago
// into flood records, then has the programs count there: every
// floodInterval, and once more for both maps when final (hooks detached).
func (t *Tracer) reportFloods(onEvent func(*event.Event) error, final bool) error {
	now := time.Now()
	if !final && now.Sub(t.floods.last) < floodInterval {
		return nil
	}
	t.floods.last = now
	idle := t.floods.side ^ 1
	if err := t.drainFloods(idle, now, onEvent); err != nil {
		return err
	}
	if final {
		return t.drainFloods(t.floods.side, now, onEvent)
	}
	if err := t.coll.Variables[gen.NstraceVarFloodSide].Set(idle); err != nil {
		return fmt.Errorf("switch flood counts: %w", err)
	}
	t.floods.side = idle
	return nil
}

type floodCount struct {
	key gen.NstraceFloodKey
	n   uint64
}

// drainFloods empties one count map into flood records, largest first.
func (t *Tracer) drainFloods(side uint32, now time.Time, onEvent func(*event.Event) error) error {
	m := t.coll.Maps[gen.NstraceMapFlood0]
	if side == 1 {
		m = t.coll.Maps[gen.NstraceMapFlood1]
	}
	var (
		counts []floodCount
		c      floodCount
	)
	it := m.Iterate()
	for it.Next(&c.key, &c.n) {
		counts = append(counts, c)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read flood counts: %w", err)
	}
	for i := range counts {
		if err := m.Delete(&counts[i].key); err != nil {
			return fmt.Errorf("clear flood counts: %w", err)
		}
	}
	slices.SortFunc(counts, func(a, b floodCount) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return bytes.Compare(commBytes(&a.key), commBytes(&b.key))
	})
	for i := range counts {
		k := &counts[i].key
		t.aggregated.Add(counts[i].n)
		ev := event.Event{Time: now, Kind: event.Flood, UID: k.Uid, CgroupID: k.Cgroup,
			Comm: string(trimNul(commBytes(k))), Counted: event.Kind(k.Kind),
			Errno: syscall.Errno(k.Error), Count: counts[i].n}
		if err := onEvent(&ev); err != nil {
			return err
		}
	}
	return nil
}

func commBytes(k *gen.NstraceFloodKey) []byte {
	return (*[16]byte)(unsafe.Pointer(&k.Comm))[:]
}

func trimNul(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
