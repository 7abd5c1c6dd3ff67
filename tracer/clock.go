package tracer

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootClock turns the kernel's CLOCK_BOOTTIME stamps into wall-clock time.
// Boot time keeps counting through suspend, as wall time does.
type bootClock struct {
	offset int64 // wall ns minus boot ns
}

func newBootClock() bootClock {
	var c bootClock
	c.sync()
	return c
}

// sync re-reads the offset; called when the reader is idle, so a wall-clock
// step (NTP) is followed without skewing a burst of events.
func (c *bootClock) sync() {
	var ts unix.Timespec
	before := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return
	}
	c.offset = before.UnixNano() - ts.Nano()
}

func (c *bootClock) wall(bootNs uint64) time.Time {
	return time.Unix(0, int64(bootNs)+c.offset)
}
