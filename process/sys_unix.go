//go:build unix && !linux

package process

import "syscall"

// sysProcAttr asks for nothing: there is no pidfd here, and the child is
// reaped by a goroutine in wait4.
func sysProcAttr(*int) *syscall.SysProcAttr { return nil }

// pipe makes a pipe whose ends are closed on exec, under the fork lock so
// that no child forked meanwhile inherits them.
func pipe(p *[2]int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := syscall.Pipe(p[:]); err != nil {
		return err
	}
	syscall.CloseOnExec(p[0])
	syscall.CloseOnExec(p[1])
	return nil
}

// sendSignal sends sig with kill(2). The pid is the child's until the
// reaping goroutine has waited for it; a signal sent in the moment between
// that wait and the loop hearing of it could reach a process that got the
// pid meanwhile, which a pidfd rules out where there is one.
func sendSignal(_, pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
