package ring

import "runtime"

// How a busy reader waits is shaped by the Go runtime's sysmon thread,
// which watches for goroutines stuck in system calls or running too long.
// A call it sees last longer than 10 ms, or a goroutine that has not
// passed through the scheduler for 10 ms, costs the process its P; once
// every P is idle sysmon sleeps deeply, and the next system call (the
// reader's next write, say) wakes it to poll again every 20 µs, then
// slower and slower. A reader that blocks until the programs wake it,
// tens of milliseconds under churn, and then works through a burst with
// writes, goes through that cycle on every burst, and sysmon's polling
// then costs more CPU than decoding. So while records keep coming the
// reader waits in calls of maxBusyWait at most, and passes through the
// scheduler before each wait and every commitBytes of a long pass: sysmon
// then finds nothing to take and settles at its slowest poll. Once a wait
// runs out with nothing, the reader is idle and waits as long as it is
// asked to: waking every few milliseconds would cost an idle tracer more
// than sysmon does.

// maxBusyWait bounds one epoll_wait of a busy reader, in milliseconds:
// under sysmon's 10 ms.
const maxBusyWait = 5

// yield lets the scheduler see the reader's goroutine as fresh.
func yield() { runtime.Gosched() }
