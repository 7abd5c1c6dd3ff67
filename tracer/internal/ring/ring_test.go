package ring

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// fill is the byte every sample carries after its 8-byte sequence number.
const fill = 0xa5

var fillWord = uint32(fill * 0x01010101)

// producer is a BPF program, run on demand, that queues one record: a
// sequence number taken from the run's context, padded with fill to size
// bytes; or, with discard, reserves size bytes and discards them.
type producer struct {
	prog *ebpf.Program
}

func newProducer(t *testing.T, m *ebpf.Map, size int, discard bool) producer {
	t.Helper()
	stack := int16((size + 7) &^ 7)
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.DWord), // the sequence number
		asm.StoreMem(asm.RFP, -stack, asm.R2, asm.DWord),
		asm.Mov.Imm32(asm.R3, int32(fillWord)),
	}
	for off := -stack + 8; off < 0; off += 4 {
		insns = append(insns, asm.StoreMem(asm.RFP, off, asm.R3, asm.Word))
	}
	if discard {
		insns = append(insns,
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Imm(asm.R2, int32(size)),
			asm.Mov.Imm(asm.R3, 0),
			asm.FnRingbufReserve.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Reg(asm.R1, asm.R0),
			asm.Mov.Imm(asm.R2, 0),
			asm.FnRingbufDiscard.Call(),
		)
	} else {
		insns = append(insns,
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -int32(stack)),
			asm.Mov.Imm(asm.R3, int32(size)),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
		)
	}
	insns = append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Syscall, Flags: unix.BPF_F_SLEEPABLE, License: "GPL", Instructions: insns})
	if err != nil {
		t.Fatalf("load producer: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	return producer{prog}
}

func (p producer) send(t *testing.T, seq uint64) {
	t.Helper()
	ctx := binary.LittleEndian.AppendUint64(nil, seq)
	if _, err := p.prog.Run(&ebpf.RunOptions{Context: ctx}); err != nil {
		t.Fatalf("run producer: %v", err)
	}
}

func newRing(t *testing.T, size uint32) (*ebpf.Map, *Reader) {
	t.Helper()
	testenv.RequireKernel(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: size})
	if err != nil {
		t.Fatalf("create ring: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	r, err := NewReader(m)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return m, r
}

// collect reads one pass and returns the sequence numbers, checking each
// sample's length and padding.
func collect(t *testing.T, r *Reader, size int) []uint64 {
	t.Helper()
	var seqs []uint64
	n, err := r.Read(func(s []byte) error {
		if len(s) != size {
			t.Fatalf("sample of %d bytes, want %d", len(s), size)
		}
		for i, b := range s[8:] {
			if b != fill {
				t.Fatalf("sample %x: byte %d is %#x, want %#x", s, 8+i, b, fill)
			}
		}
		seqs = append(seqs, binary.LittleEndian.Uint64(s))
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if n != len(seqs) {
		t.Fatalf("Read reported %d records, handed over %d", n, len(seqs))
	}
	return seqs
}

func sendRange(t *testing.T, p producer, from, to uint64) {
	for seq := from; seq < to; seq++ {
		p.send(t, seq)
	}
}

func wantRange(t *testing.T, got []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(got)) != to-from {
		t.Fatalf("got %d records, want %d (%d..%d)", len(got), to-from, from, to-1)
	}
	for i, seq := range got {
		if seq != from+uint64(i) {
			t.Fatalf("record %d has sequence %d, want %d", i, seq, from+uint64(i))
		}
	}
}

// Records of an odd length (padded to 8 in the ring) come out whole and in
// order across the end of a one-page ring, and a pass consumes them all.
func TestReadsInOrderAcrossTheWrap(t *testing.T) {
	const size = 12 // 8 header + 16 in the ring: 170 fit in 4096 bytes
	m, r := newRing(t, 4096)
	p := newProducer(t, m, size, false)
	for lap := uint64(0); lap < 5; lap++ {
		sendRange(t, p, lap*100, lap*100+100)
		if got := r.AvailableBytes(); got != 100*24 {
			t.Fatalf("lap %d: %d bytes available, want %d", lap, got, 100*24)
		}
		wantRange(t, collect(t, r, size), lap*100, lap*100+100)
		if got := r.AvailableBytes(); got != 0 {
			t.Fatalf("lap %d: %d bytes still available after a pass", lap, got)
		}
	}
}

func TestSkipsDiscardedRecords(t *testing.T) {
	m, r := newRing(t, 4096)
	keep, drop := newProducer(t, m, 40, false), newProducer(t, m, 40, true)
	keep.send(t, 1)
	drop.send(t, 2)
	drop.send(t, 3)
	keep.send(t, 4)
	got := collect(t, r, 40)
	if len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("got %v, want [1 4]", got)
	}
	if n := r.AvailableBytes(); n != 0 {
		t.Fatalf("%d bytes left after a pass", n)
	}
}

// A long pass stores the consumer position every commitBytes, so the
// programs get room back before the pass ends.
func TestLongPassStoresPositionAsItGoes(t *testing.T) {
	const size, each = 40, 48 // 8 header + 40
	m, r := newRing(t, 256<<10)
	p := newProducer(t, m, size, false)
	const total = 4000
	sendRange(t, p, 0, total)
	firstStore := (commitBytes + each - 1) / each // records between stores
	seen := 0
	_, err := r.Read(func([]byte) error {
		stored := seen / firstStore * firstStore // records before this one, as of the last store
		want := (total - stored) * each
		seen++
		if got := r.AvailableBytes(); got != want {
			t.Fatalf("at record %d: %d bytes available, want %d", seen, got, want)
		}
		return nil
	})
	if err != nil || seen != total {
		t.Fatalf("Read: %v after %d of %d records", err, seen, total)
	}
	if n := r.AvailableBytes(); n != 0 {
		t.Fatalf("%d bytes left after the pass", n)
	}
}

func TestErrorFromCallbackStopsThePass(t *testing.T) {
	m, r := newRing(t, 4096)
	p := newProducer(t, m, 8, false)
	sendRange(t, p, 0, 3)
	stop := errors.New("stop")
	n, err := r.Read(func([]byte) error { return stop })
	if n != 1 || !errors.Is(err, stop) {
		t.Fatalf("Read = %d, %v; want 1, stop", n, err)
	}
	wantRange(t, collect(t, r, 8), 1, 3) // the failed record counts as read
}

func TestDeadlineOnAnEmptyRing(t *testing.T) {
	_, r := newRing(t, 4096)
	r.SetDeadline(time.Now().Add(5 * time.Millisecond))
	if n, err := r.Read(func([]byte) error { return nil }); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want 0, deadline exceeded", n, err)
	}
}

// After Flush, Read hands over what is queued, then says ErrFlushed
// instead of waiting.
func TestFlushDrainsThenReports(t *testing.T) {
	m, r := newRing(t, 4096)
	p := newProducer(t, m, 16, false)
	sendRange(t, p, 0, 7)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	// Woken by the flush with data queued: the data comes first.
	r.SetDeadline(time.Time{})
	wantRange(t, collect(t, r, 16), 0, 7)
	if n, err := r.Read(func([]byte) error { return nil }); n != 0 || !errors.Is(err, ErrFlushed) {
		t.Fatalf("Read after the drain = %d, %v; want 0, ErrFlushed", n, err)
	}
}

func TestRefusesOtherMaps(t *testing.T) {
	testenv.RequireKernel(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := NewReader(m); err == nil {
		t.Fatal("NewReader accepted an array map")
	}
}
