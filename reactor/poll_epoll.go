//go:build linux

package reactor

import (
	"encoding/binary"
	"os"
	"sync"
	"time"
	"unsafe"

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
	// busy is set when the last wait returned events: the next one first
	// looks without blocking, if credit is not negative. A look that finds
	// events earns credit, one that finds none costs more, and a blocking
	// wait that returns events earns some back: a loop whose looks mostly
	// fail (its peers answer slower than it dispatches) looks less often.
	busy   bool
	credit int8

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
		// A raw call: the eventfd is non-blocking.
		_, _, _ = unix.RawSyscall(unix.SYS_WRITE, uintptr(p.wakefd), uintptr(unsafe.Pointer(&one[0])), 8)
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
//
// A wait that cannot block (timeout 0), and the first look of a wait that
// follows one that returned events, is a raw system call with a zero
// timeout: the runtime need not be told of a call that does not block
// (entersyscall and exitsyscall), and a busy loop that finds events this
// way does not block in the poller, where after 20µs the runtime's monitor
// takes its processor away and hands it to another thread. Only when that
// look finds nothing does the loop block, told to the runtime.
func (p *poller) wait(timeout time.Duration) (int, error) {
	if timeout == 0 || p.busy && p.credit >= 0 {
		n, err := epollPoll(p.epfd, p.events)
		if timeout != 0 {
			if n > 0 {
				p.credit = min(p.credit+1, 8)
			} else {
				p.credit -= 2
			}
		}
		if n > 0 || timeout == 0 || err != nil {
			p.busy = n > 0
			return n, err
		}
	}
	n, err := unix.EpollWait(p.epfd, p.events, waitMillis(timeout))
	if err != nil {
		p.busy = false
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("epoll_wait", err)
	}
	p.busy = n > 0
	if p.busy && p.credit < 0 {
		p.credit++
	}
	return n, nil
}

// epollPoll is epoll_wait with a zero timeout as a raw system call: it
// never blocks.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	switch e {
	case 0:
		return int(n), nil
	case unix.EINTR:
		return 0, nil
	}
	return 0, os.NewSyscallError("epoll_pwait", e)
}

// event returns the descriptor of the i-th event of the last wait and what
// it is ready for, or -1 for the poller's own wake-up, which it drains.
func (p *poller) event(i int) (int, interest) {
	ev := &p.events[i]
	fd := int(ev.Fd)
	if fd == p.wakefd {
		_, _, _ = unix.RawSyscall(unix.SYS_READ, uintptr(p.wakefd), uintptr(unsafe.Pointer(&p.drain[0])), 8)
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
