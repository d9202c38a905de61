//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package reactor

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// poller is kqueue(2) with level-triggered read and write filters (no
// EV_CLEAR), and a wake-up that is EVFILT_USER where the system has it and
// a pipe elsewhere (see the kqueue_wake files). A kevent's ident is the
// descriptor number, which indexes the reactor's table of handlers.
type poller struct {
	kq     int
	events []unix.Kevent_t
	change [1]unix.Kevent_t // kept here so that kevent never allocates
	ts     unix.Timespec
	waker             // per-system wake-up
	mu     sync.Mutex // orders wake against close, so wake never uses a reused fd
	closed bool
}

func (p *poller) init() error {
	kq, err := unix.Kqueue()
	if err != nil {
		return os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	p.kq = kq
	if err := p.waker.init(kq); err != nil {
		unix.Close(kq)
		return err
	}
	p.events = make([]unix.Kevent_t, 256)
	return nil
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.waker.close()
		unix.Close(p.kq)
	}
}

// wake makes a sleeping wait return. It may be called from any goroutine.
func (p *poller) wake() {
	p.mu.Lock()
	if !p.closed {
		p.waker.wake(p.kq)
	}
	p.mu.Unlock()
}

// control adds the filters that next has and old has not, and deletes the
// ones that old has and next has not, one kevent call each so that the
// error of one change cannot hide another.
func (p *poller) control(fd int, old, next interest) error {
	for _, f := range [...]struct {
		in     interest
		filter int
	}{{readable, unix.EVFILT_READ}, {writable, unix.EVFILT_WRITE}} {
		var flags int
		switch {
		case next&f.in != 0 && old&f.in == 0:
			flags = unix.EV_ADD
		case next&f.in == 0 && old&f.in != 0:
			flags = unix.EV_DELETE
		default:
			continue
		}
		unix.SetKevent(&p.change[0], fd, f.filter, flags)
		_, err := unix.Kevent(p.kq, p.change[:], nil, nil)
		if err != nil && (flags == unix.EV_ADD || (err != unix.ENOENT && err != unix.EBADF)) {
			return os.NewSyscallError("kevent", err)
		}
	}
	return nil
}

// wait blocks for up to timeout (for ever if negative) and returns the
// number of events, which event decodes.
func (p *poller) wait(timeout time.Duration) (int, error) {
	var ts *unix.Timespec
	if timeout >= 0 {
		p.ts = unix.NsecToTimespec(int64(timeout))
		ts = &p.ts
	}
	n, err := unix.Kevent(p.kq, nil, p.events, ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("kevent", err)
	}
	return n, nil
}

// event returns the descriptor of the i-th event of the last wait and what
// it is ready for, or -1 for the poller's own wake-up.
func (p *poller) event(i int) (int, interest) {
	ev := &p.events[i]
	if p.waker.woken(ev) {
		return -1, 0
	}
	var in interest
	switch {
	case ev.Flags&unix.EV_ERROR != 0:
		in = readable | writable
	case ev.Filter == unix.EVFILT_READ:
		in = readable
	case ev.Filter == unix.EVFILT_WRITE:
		in = writable
	}
	return int(ev.Ident), in
}
