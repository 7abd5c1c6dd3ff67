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
	// An open mountinfo file of its own: the kernel flags a change once
	// per open file, and the table's own descriptor must see it too.
	fd, err := unix.Open(t.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("watch mounts: %w", err)
	}
	defer unix.Close(fd)
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("watch mounts: %w", err)
	}
	defer unix.Close(ep)
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watch mounts: %w", err)
	}
	defer unix.Close(stop)
	for _, w := range []struct {
		fd     int
		events uint32
	}{{fd, unix.EPOLLPRI}, {stop, unix.EPOLLIN}} {
		ev := unix.EpollEvent{Events: w.events, Fd: int32(w.fd)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, w.fd, &ev); err != nil {
			return fmt.Errorf("watch mounts: %w", err)
		}
	}
	defer context.AfterFunc(ctx, func() {
		_, _ = unix.Write(stop, []byte{1, 0, 0, 0, 0, 0, 0, 0}) // an eventfd write fails only on overflow: the loop is woken either way
	})()
	events := make([]unix.EpollEvent, 2)
	var last time.Time
	for {
		n, err := unix.EpollWait(ep, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("watch mounts: %w", err)
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == stop {
				return nil
			}
		}
		if wait := watchEvery - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		last = time.Now()
		t.Sync()
	}
}
