//go:build aix || solaris

package reactor

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// poller is poll(2), the portable fallback for the Unix systems with neither
// epoll nor kqueue. The pollfd array is kept between waits; slot[fd] is the
// index of fd's entry plus one (zero: not watched). Entry 0 is the wake pipe.
type poller struct {
	fds   []unix.PollFd
	slot  []int32
	ready []readyFd // snapshot of a wait's results: handlers may change fds
	wakePipe
	mu     sync.Mutex // orders wake against close, so wake never uses a reused fd
	closed bool
}

type readyFd struct {
	fd int
	in interest
}

func (p *poller) init() error {
	if err := p.wakePipe.init(); err != nil {
		return err
	}
	p.fds = []unix.PollFd{{Fd: int32(p.wakePipe.r), Events: unix.POLLIN}}
	return nil
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.wakePipe.close()
	}
}

// wake makes a sleeping wait return. It may be called from any goroutine.
func (p *poller) wake() {
	p.mu.Lock()
	if !p.closed {
		p.wakePipe.wake()
	}
	p.mu.Unlock()
}

func (p *poller) control(fd int, old, next interest) error {
	if fd >= len(p.slot) {
		p.slot = append(p.slot, make([]int32, fd+1-len(p.slot))...)
	}
	i := int(p.slot[fd]) - 1
	if next == 0 {
		if i < 0 {
			return nil
		}
		last := len(p.fds) - 1
		p.fds[i] = p.fds[last]
		p.slot[p.fds[i].Fd] = int32(i + 1)
		p.fds = p.fds[:last]
		p.slot[fd] = 0
		return nil
	}
	if i < 0 {
		p.fds = append(p.fds, unix.PollFd{Fd: int32(fd)})
		i = len(p.fds) - 1
		p.slot[fd] = int32(i + 1)
	}
	pfd := &p.fds[i]
	pfd.Events = 0
	if next&readable != 0 {
		pfd.Events |= unix.POLLIN
	}
	if next&writable != 0 {
		pfd.Events |= unix.POLLOUT
	}
	return nil
}

// wait blocks for up to timeout (for ever if negative) and returns the
// number of ready descriptors, which event gives.
func (p *poller) wait(timeout time.Duration) (int, error) {
	n, err := unix.Poll(p.fds, waitMillis(timeout))
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("poll", err)
	}
	if n == 0 {
		return 0, nil
	}
	if p.fds[0].Revents != 0 {
		p.drain()
	}
	p.ready = p.ready[:0]
	for _, pfd := range p.fds[1:] {
		var in interest
		if pfd.Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			in |= readable
		}
		if pfd.Revents&(unix.POLLOUT|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			in |= writable
		}
		if in != 0 {
			p.ready = append(p.ready, readyFd{int(pfd.Fd), in})
		}
	}
	return len(p.ready), nil
}

// event returns the i-th ready descriptor of the last wait.
func (p *poller) event(i int) (int, interest) { return p.ready[i].fd, p.ready[i].in }
