package ring

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// Stop from inside fn: the record fn holds was handed over, the rest stay
// and are counted, discarded ones not; every later Read and Stop agrees.
func TestStopCountsTheRecordsLeft(t *testing.T) {
	m, r := newRing(t, 4096)
	keep, drop := newProducer(t, m, 40, false), newProducer(t, m, 40, true)
	sendRange(t, keep, 1, 6)
	drop.send(t, 99)
	sendRange(t, keep, 6, 11) // 10 kept records, a discarded one among them
	var seqs []uint64
	n, err := r.Read(func(s []byte) error {
		seqs = append(seqs, binary.LittleEndian.Uint64(s))
		if len(seqs) == 3 {
			if handed, left := r.Stop(); handed != 3 || left != 7 {
				t.Errorf("Stop() = %d handed, %d left; want 3, 7", handed, left)
			}
		}
		return nil
	})
	if n != 3 || !errors.Is(err, ErrStopped) {
		t.Errorf("Read = %d, %v; want 3, ErrStopped", n, err)
	}
	wantRange(t, seqs, 1, 4)
	if n, err := r.Read(func([]byte) error { t.Error("a record after Stop"); return nil }); n != 0 || !errors.Is(err, ErrStopped) {
		t.Errorf("Read after Stop = %d, %v; want 0, ErrStopped", n, err)
	}
	if handed, left := r.Stop(); handed != 3 || left != 7 {
		t.Errorf("second Stop() = %d, %d; want 3, 7", handed, left)
	}
}

// Stop from another goroutine while fn is stuck on a record: Stop returns
// at once with exact counts, and Read hands over nothing more.
func TestStopWhileTheCallbackIsStuck(t *testing.T) {
	m, r := newRing(t, 4096)
	sendRange(t, newProducer(t, m, 40, false), 1, 21)
	stuck, release := make(chan struct{}), make(chan struct{})
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	var seqs []uint64
	go func() {
		n, err := r.Read(func(s []byte) error {
			seqs = append(seqs, binary.LittleEndian.Uint64(s))
			if len(seqs) == 5 {
				close(stuck)
				<-release
			}
			return nil
		})
		done <- result{n, err}
	}()
	<-stuck
	if handed, left := r.Stop(); handed != 5 || left != 15 {
		t.Errorf("Stop() = %d handed, %d left; want 5, 15", handed, left)
	}
	close(release)
	if res := <-done; res.n != 5 || !errors.Is(res.err, ErrStopped) {
		t.Errorf("Read = %d, %v; want 5, ErrStopped", res.n, res.err)
	}
	wantRange(t, seqs, 1, 6)
}

// A Read waiting on an empty ring, with no deadline, returns when stopped.
func TestStopWakesAWaitingRead(t *testing.T) {
	_, r := newRing(t, 4096)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(func([]byte) error { return nil })
		done <- err
	}()
	if handed, left := r.Stop(); handed != 0 || left != 0 {
		t.Errorf("Stop() = %d, %d; want 0, 0", handed, left)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrStopped) {
			t.Errorf("Read = %v, want ErrStopped", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting 5 s after Stop")
	}
}
