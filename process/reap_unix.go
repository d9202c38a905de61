//go:build unix

package process

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper learns how the child ended and signals it. With a pidfd, the loop
// watches it and reaps the child when it becomes readable; without, a
// goroutine blocks in wait4 for the child's pid and brings the status back
// with CallFromThread. Either way only this child is waited for, with no
// SIGCHLD handler.
type reaper struct {
	p     *Process
	pidfd int // -1 without a pidfd
}

func startReaper(p *Process, pidfd int) *reaper {
	r := &reaper{p: p, pidfd: pidfd}
	if pidfd >= 0 {
		if err := p.loop.AddReader(r); err == nil {
			return r
		}
		_ = unix.Close(pidfd)
		r.pidfd = -1
	}
	loop, pid := p.loop, p.pid
	go func() {
		ws, err := wait(pid, 0)
		loop.CallFromThread(func() { p.childExited(ws, err) })
	}()
	return r
}

// wait waits for the child pid, blocking unless options has WNOHANG; it
// returns pid 0 and no error when WNOHANG finds it still running.
func wait(pid, options int) (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, options, nil)
		if err != unix.EINTR {
			return ws, err
		}
	}
}

func (r *reaper) Fd() int { return r.pidfd }

// DoRead reaps the child: its pidfd is readable once it has exited.
func (r *reaper) DoRead() {
	var ws unix.WaitStatus
	var err error
	for {
		var wpid int
		wpid, err = unix.Wait4(r.p.pid, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err == nil && wpid == 0 {
			return // not yet: a spurious wake-up
		}
		break
	}
	r.closePidfd()
	r.p.childExited(ws, err)
}

func (r *reaper) DoWrite() {}

// ConnectionLost is the loop shutting down with the child running: a
// goroutine reaps it when it exits, so that it leaves no zombie.
func (r *reaper) ConnectionLost(error) {
	r.closePidfd()
	go wait(r.p.pid, 0)
}

func (r *reaper) closePidfd() {
	if r.pidfd >= 0 {
		_ = r.p.loop.RemoveReader(r)
		_ = unix.Close(r.pidfd)
		r.pidfd = -1
	}
}

// signal sends sig to the child.
func (r *reaper) signal(sig syscall.Signal) error { return sendSignal(r.pidfd, r.p.pid, sig) }
