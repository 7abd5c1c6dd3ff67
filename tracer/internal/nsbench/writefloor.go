package nsbench

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// writeBlock is the size of each write(2) the floor makes: nstrace's own
// JSON buffer's, so that the floor pays for as many calls as it does.
const writeBlock = 256 << 10

// writeFloor is the CPU time this thread takes to write n bytes to a new
// file in dir, in writeBlock writes: what putting a run's output in a file
// costs before any of it is made. Lines no smaller than they are cannot
// cost less than this per event. It also says how many bytes it wrote.
func writeFloor(dir string, n int64) (cpu time.Duration, wrote int64, err error) {
	f, err := os.CreateTemp(dir, "write-floor-*")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, writeBlock)
	for i := range block {
		block[i] = byte('a' + i%26)
	}
	// Thread CPU time: the writes must stay on this thread to be counted.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, err := threadCPU()
	if err != nil {
		return 0, 0, err
	}
	for left := n; left > 0; left -= writeBlock {
		b := block
		if left < writeBlock {
			b = block[:left]
		}
		k, err := f.Write(b)
		wrote += int64(k)
		if err != nil {
			return 0, wrote, fmt.Errorf("write floor: %w", err)
		}
	}
	end, err := threadCPU()
	if err != nil {
		return 0, wrote, err
	}
	return end - start, wrote, nil
}

func threadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("thread CPU time: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}
