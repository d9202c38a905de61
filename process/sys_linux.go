package process

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// noPidfd, set by tests, makes children be reaped as on a kernel without
// pidfds.
var noPidfd bool

// sysProcAttr asks clone3 for a pidfd of the child, which the kernel
// stores in *pidfd, or -1 where it has none (before Linux 5.4).
func sysProcAttr(pidfd *int) *syscall.SysProcAttr {
	if noPidfd {
		return nil
	}
	return &syscall.SysProcAttr{PidFD: pidfd}
}

// pipe makes a pipe whose ends are closed on exec.
func pipe(p *[2]int) error { return unix.Pipe2(p[:], unix.O_CLOEXEC) }

// sendSignal sends sig through the pidfd, which cannot reach another
// process that got the same pid, or with kill(2) when there is none.
func sendSignal(pidfd, pid int, sig syscall.Signal) error {
	if pidfd >= 0 {
		return unix.PidfdSendSignal(pidfd, sig, nil, 0)
	}
	return unix.Kill(pid, sig)
}
