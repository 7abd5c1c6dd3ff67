package nsbench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// memoryLimitKiB is the bound on nstrace's resident memory.
const memoryLimitKiB = 64 << 10

// memoryResult is nstrace's resident memory as its output grows.
type memoryResult struct {
	Samples   []rssSample `json:"samples"`
	Complete  bool        `json:"complete"`  // every sample point reached before the timeout
	Delivered int64       `json:"delivered"` // events in nstrace's summary
	Lost      int64       `json:"lost"`
	Flat      bool        `json:"flat"` // last ≤ first × 1.1, and all ≤ 64 MiB
}

// rate is how many events a second nstrace wrote while sampled.
func (m *memoryResult) rate() float64 {
	if len(m.Samples) == 0 {
		return 0
	}
	last := m.Samples[len(m.Samples)-1]
	if last.Seconds <= 0 {
		return 0
	}
	return float64(last.Events) / last.Seconds
}

type rssSample struct {
	Events  int64   `json:"events"`  // JSON lines nstrace had written
	Seconds float64 `json:"seconds"` // since the churn started
	RSSKiB  int64   `json:"rss_kib"`
}

// flat is the test: the last sample at most 10 % above the first,
// and none above the limit.
func flat(samples []rssSample) bool {
	if len(samples) == 0 {
		return false
	}
	for _, s := range samples {
		if s.RSSKiB > memoryLimitKiB {
			return false
		}
	}
	return float64(samples[len(samples)-1].RSSKiB) <= float64(samples[0].RSSKiB)*1.1
}

// measureMemory runs the setns churn under `nstrace -o json` until nstrace
// has written target events (or until the timeout), reading its VmRSS every
// step events. The harness reads nstrace's output itself, counting lines.
func measureMemory(o *options, target, step int64, timeout time.Duration) (*memoryResult, error) {
	ready := filepath.Join(o.dir, "memory.ready")
	os.Remove(ready)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd := exec.Command(o.nstrace, "trace", "-o", "json", "--ready-file", ready)
	cmd.Stdout = pw
	s, err := startSession(cmd, "", fileExists(ready))
	pw.Close()
	if err != nil {
		return nil, err
	}
	res := &memoryResult{}
	reached := make(chan struct{})
	drained := make(chan error, 1)
	start := time.Now()
	go func() { drained <- sampleWhileReading(pr, s.pid(), start, samplePoints(target, step), res, reached) }()

	w, _ := findWorkload("setns")
	ch, err := startChild(o.self, w, timeout, o.cpu)
	if err != nil {
		s.kill()
		return nil, err
	}
	select {
	case <-reached:
		res.Complete = true
	case <-time.After(timeout):
	case err := <-drained:
		// Killed on purpose: Kill and Wait can only report that.
		_ = ch.cmd.Process.Kill()
		_ = ch.cmd.Wait()
		s.kill()
		return nil, fmt.Errorf("nstrace output ended early: %v", err)
	}
	_ = ch.cmd.Process.Kill()
	_ = ch.cmd.Wait()
	if err := errors.Join(s.stop(), <-drained); err != nil {
		return nil, err
	}
	sum, ok := parseSummary(s.stderr.String())
	if !ok {
		return nil, fmt.Errorf("nstrace printed no summary: %q", s.stderr.String())
	}
	res.Delivered, res.Lost = sum.Events, sum.Lost
	res.Flat = flat(res.Samples)
	return res, nil
}

// samplePoints are every multiple of step up to target, and target itself.
func samplePoints(target, step int64) []int64 {
	var pts []int64
	if step <= 0 {
		step = target
	}
	for p := step; p < target; p += step {
		pts = append(pts, p)
	}
	return append(pts, target)
}

// sampleWhileReading counts the lines nstrace writes and samples its RSS at
// each point; it closes reached at the last one and reads on to EOF.
func sampleWhileReading(r io.Reader, pid int, start time.Time, points []int64, res *memoryResult, reached chan<- struct{}) error {
	buf := make([]byte, 1<<20)
	var lines int64
	for {
		n, err := r.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		for len(points) > 0 && lines >= points[0] {
			kib, rerr := rssKiB(pid)
			if rerr != nil {
				return rerr
			}
			res.Samples = append(res.Samples, rssSample{Events: lines, Seconds: time.Since(start).Seconds(), RSSKiB: kib})
			if points = points[1:]; len(points) == 0 {
				close(reached)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
