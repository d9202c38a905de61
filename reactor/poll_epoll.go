//go:build linux

package reactor

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// poller is epoll(7), level-triggered, with an eventfd to wake it. The epoll
// data field holds the descriptor number, which indexes the reactor's table
// of handlers.
//
// The epoll descriptor is itself watched by the runtime's network poller
// (an epoll descriptor is readable while it has events), through file: a
// wait that has to block parks the loop's goroutine there, as a net.Conn's
// Read does, rather than blocking its thread in epoll_wait. A thread
// blocked in a system call keeps its processor (P) for 20µs or more, after
// which the runtime's monitor (sysmon) takes the P back and hands it to a
// new spinning thread, and keeps waking every 20µs as long as it finds Ps
// to take: with a loop per P, every P is in a system call or running and
// that happened on almost every blocking wait. A parked goroutine frees its
// P at once, and an idle process lets the monitor sleep for up to 10 ms.
type poller struct {
	epfd   int
	wakefd int
	events []unix.EpollEvent
	file   *os.File        // epfd, registered with the runtime's poller
	raw    syscall.RawConn // file's, whose Read parks until epfd is readable
	look   func(uintptr) bool
	n      int   // what look found
	err    error // and its error
	// deadline is the read deadline set on file, zero for none.
	deadline time.Time
	ctl      unix.EpollEvent // kept here so that epoll_ctl never allocates
	drain    [8]byte
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
	// Non-blocking, os.NewFile registers the descriptor with the runtime's
	// poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return os.NewSyscallError("fcntl", err)
	}
	p.file = os.NewFile(uintptr(epfd), "epoll")
	if p.raw, err = p.file.SyscallConn(); err != nil {
		p.file.Close()
		unix.Close(wakefd)
		return err
	}
	p.look = func(uintptr) bool {
		p.n, p.err = epollPoll(p.epfd, p.events)
		return p.n > 0 || p.err != nil
	}
	return nil
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Close(p.wakefd)
		p.file.Close() // and epfd with it
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
// number of events, which event decodes.
//
// Every look is a raw epoll_wait with a zero timeout: the runtime need not
// be told of a call that does not block (entersyscall and exitsyscall). A
// wait that cannot block (timeout 0) is one look; so is the first of a
// wait that follows one that returned events, when it finds some. Else
// the loop's goroutine parks in the runtime's poller until epfd is
// readable, or until the deadline, and looks again.
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
	if err := p.setDeadline(timeout); err != nil {
		p.busy = false
		return 0, err
	}
	p.n, p.err = 0, nil
	err := p.raw.Read(p.look)
	if err == nil {
		err = p.err
	}
	if err != nil {
		p.busy = false
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		return 0, err
	}
	p.busy = true
	if p.credit < 0 {
		p.credit++
	}
	return p.n, nil
}

// setDeadline sets file's read deadline to timeout from now, or none if
// timeout is negative: the runtime's timer is not touched by a loop with
// no timer pending.
func (p *poller) setDeadline(timeout time.Duration) error {
	var t time.Time
	if timeout > 0 {
		t = time.Now().Add(timeout)
	} else if p.deadline.IsZero() {
		return nil
	}
	p.deadline = t
	return p.file.SetReadDeadline(t)
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
