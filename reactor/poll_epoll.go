//go:build linux

package reactor

import (
	"encoding/binary"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// poller is epoll(7), level-triggered, with an eventfd to wake it. The epoll
// data field holds the descriptor number, which indexes the reactor's table
// of handlers.
type poller struct {
	epfd   int
	wakefd int
	events []unix.EpollEvent
	ctl    unix.EpollEvent // kept here so that epoll_ctl never allocates
	drain  [8]byte

	mu     sync.Mutex // orders wake against close, so wake never writes to a reused fd
	closed bool
}

func (p *poller) init() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return os.NewSyscallError("eventfd", err)
	}
	p.epfd, p.wakefd = epfd, wakefd
	p.ctl = unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &p.ctl); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return os.NewSyscallError("epoll_ctl", err)
	}
	p.events = make([]unix.EpollEvent, 256)
	return nil
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Close(p.wakefd)
		unix.Close(p.epfd)
	}
}

// wake makes a sleeping wait return. It may be called from any goroutine.
func (p *poller) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	p.mu.Lock()
	if !p.closed {
		// EAGAIN would mean the counter is full: the loop is awake anyway.
		_, _ = unix.Write(p.wakefd, one[:])
	}
	p.mu.Unlock()
}

func (p *poller) control(fd int, old, next interest) error {
	if next == 0 {
		err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		if err != nil && err != unix.ENOENT && err != unix.EBADF {
			return os.NewSyscallError("epoll_ctl", err)
		}
		return nil
	}
	p.ctl = unix.EpollEvent{Fd: int32(fd)}
	if next&readable != 0 {
		p.ctl.Events |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if next&writable != 0 {
		p.ctl.Events |= unix.EPOLLOUT
	}
	op := unix.EPOLL_CTL_MOD
	if old == 0 {
		op = unix.EPOLL_CTL_ADD
	}
	err := unix.EpollCtl(p.epfd, op, fd, &p.ctl)
	switch {
	case err == unix.ENOENT && op == unix.EPOLL_CTL_MOD:
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &p.ctl)
	case err == unix.EEXIST && op == unix.EPOLL_CTL_ADD:
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &p.ctl)
	}
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// wait blocks for up to timeout (for ever if negative) and returns the
// number of events, which event decodes. epoll counts in milliseconds;
// rounding up means a timer is never woken for early, which would cost a
// spin.
func (p *poller) wait(timeout time.Duration) (int, error) {
	n, err := unix.EpollWait(p.epfd, p.events, waitMillis(timeout))
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("epoll_wait", err)
	}
	return n, nil
}

// event returns the descriptor of the i-th event of the last wait and what
// it is ready for, or -1 for the poller's own wake-up, which it drains.
func (p *poller) event(i int) (int, interest) {
	ev := &p.events[i]
	fd := int(ev.Fd)
	if fd == p.wakefd {
		_, _ = unix.Read(p.wakefd, p.drain[:])
		return -1, 0
	}
	var in interest
	if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		in |= readable
	}
	if ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		in |= writable
	}
	return fd, in
}
