//go:build netbsd || openbsd || aix || solaris

package reactor

import (
	"os"

	"golang.org/x/sys/unix"
)

// wakePipe is the self-pipe trick: a byte written to w makes r readable and
// wakes the poller watching r. Both ends are non-blocking: a full pipe
// already holds a pending wake-up.
type wakePipe struct {
	r, w int
	buf  [64]byte
}

func (p *wakePipe) init() error {
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		return os.NewSyscallError("pipe", err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return os.NewSyscallError("fcntl", err)
		}
	}
	p.r, p.w = fds[0], fds[1]
	return nil
}

func (p *wakePipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

func (p *wakePipe) wake() {
	_, _ = unix.Write(p.w, p.buf[:1])
}

// drain empties the pipe.
func (p *wakePipe) drain() {
	for {
		n, err := unix.Read(p.r, p.buf[:])
		if n <= 0 || err != nil {
			return
		}
	}
}
