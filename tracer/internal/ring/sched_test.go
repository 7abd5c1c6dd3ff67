package ring

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// A busy reader waits in short calls, yet to the caller it waits as it
// always did: for a record that comes many short waits later, without an
// error, and until the deadline when none comes; then it is idle again.
func TestBusyReaderWaitsInShortCallsAsLongAsAsked(t *testing.T) {
	m, r := newRing(t, uint32(os.Getpagesize()))
	p := newProducer(t, m, 16, false)
	p.send(t, 1)
	wantRange(t, collect(t, r, 16), 1, 2)
	if !r.busy {
		t.Fatal("a reader that just handed over a record is not busy")
	}
	late := 6 * maxBusyWait * time.Millisecond
	sent := make(chan error, 1)
	start := time.Now()
	time.AfterFunc(late, func() {
		_, err := p.prog.Run(&ebpf.RunOptions{Context: binary.LittleEndian.AppendUint64(nil, 2)})
		sent <- err
	})
	got := collect(t, r, 16) // no deadline
	if err := <-sent; err != nil {
		t.Fatalf("run producer: %v", err)
	}
	if waited := time.Since(start); waited < late {
		t.Fatalf("Read returned after %v, before the record was sent (%v)", waited, late)
	}
	wantRange(t, got, 2, 3)

	deadline := time.Now().Add(late)
	r.SetDeadline(deadline)
	if n, err := r.Read(func([]byte) error { return nil }); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read on an empty ring = %d, %v; want 0, ErrDeadlineExceeded", n, err)
	}
	if now := time.Now(); now.Before(deadline) {
		t.Fatalf("Read gave up %v before its deadline", deadline.Sub(now))
	}
	if r.busy {
		t.Error("a reader whose wait ran out with nothing is still busy")
	}
}
