package inventory

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// watchEvery bounds how often the mount watcher reads the table.
const watchEvery = 10 * time.Millisecond

// Watch learns the changes to the mount namespace as they happen,
// until ctx ends: a name mounted and unmounted again between two events
// (`ip netns add X; ip netns del X`) is still learnt, and a name mounted
// long after its namespace was created (`ip netns attach`) reaches the
// inventory without waiting for an event. Resolve does not need it to be
// right: where a name matters it checks the mount table itself. Under a
// storm of mount changes (containers starting) it reads at most once per
// watchEvery, taking in all changes since the last read.
func (t *MountTable) Watch(ctx context.Context) error {
	w, err := openMountWatch(t.path)
	if err != nil {
		return fmt.Errorf("watch mounts: %w", err)
	}
	defer w.close()
	defer context.AfterFunc(ctx, w.wake)()
	var last time.Time
	for {
		stopped, err := w.wait()
		if err != nil {
			return fmt.Errorf("watch mounts: %w", err)
		}
		if stopped || !paced(ctx, last) {
			return nil
		}
		last = time.Now()
		t.Sync()
	}
}

// paced waits out what remains of watchEvery since the last read, so a
// storm of mount changes costs one read per interval; false when ctx
// ends first.
func paced(ctx context.Context, last time.Time) bool {
	wait := watchEvery - time.Since(last)
	if wait <= 0 {
		return true
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
		return true
	}
}

// mountWatch is what Watch waits on with epoll: a mountinfo file of its
// own and an eventfd that stops the wait. The table's own descriptor is
// not enough, since the kernel flags a change once per open file and the
// table must see it too.
type mountWatch struct {
	mountinfo, ep, stop int // -1: not open
	events              [2]unix.EpollEvent
}

// openMountWatch opens the mountinfo file at path and the epoll set that
// waits on it and on the stop eventfd.
func openMountWatch(path string) (_ *mountWatch, err error) {
	w := &mountWatch{mountinfo: -1, ep: -1, stop: -1}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	w.mountinfo = fd
	if fd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	w.ep = fd
	if fd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, err
	}
	w.stop = fd
	for _, on := range []struct {
		fd     int
		events uint32
	}{{w.mountinfo, unix.EPOLLPRI}, {w.stop, unix.EPOLLIN}} {
		ev := unix.EpollEvent{Events: on.events, Fd: int32(on.fd)}
		if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, on.fd, &ev); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// wait blocks until the mount namespace changes (false) or wake is called
// (true).
func (w *mountWatch) wait() (stopped bool, err error) {
	for {
		n, err := unix.EpollWait(w.ep, w.events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		for _, ev := range w.events[:n] {
			if int(ev.Fd) == w.stop {
				return true, nil
			}
		}
		return false, nil
	}
}

// wake ends the wait for good.
func (w *mountWatch) wake() {
	_, _ = unix.Write(w.stop, []byte{1, 0, 0, 0, 0, 0, 0, 0}) // an eventfd write fails only on overflow: the loop is woken either way
}

// close closes what openMountWatch opened, the last first.
func (w *mountWatch) close() {
	for _, fd := range []int{w.stop, w.ep, w.mountinfo} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}
