package process

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/twistgo/twist/internet"
)

var (
	// ErrProcessDone is the reason given to ProcessExited and ProcessEnded
	// when the child exited with status 0 (Twisted's ProcessDone). It
	// matches internet.ErrConnectionDone too.
	ErrProcessDone = fmt.Errorf("process: the process exited with status 0: %w", internet.ErrConnectionDone)
	// ErrProcessExitedAlready is returned by SignalProcess once the child
	// has exited (Twisted's ProcessExitedAlready).
	ErrProcessExitedAlready = errors.New("process: the process has exited already")
	// ErrStdinClosed is returned by Write after CloseStdin, or once the
	// child has closed its standard input.
	ErrStdinClosed = errors.New("process: the process's standard input is closed")
	// ErrNotSupported is returned by SpawnProcess where processes are not
	// supported (Windows).
	ErrNotSupported = errors.New("process: child processes are not supported on this system")
)

// ProcessTerminated is the reason given to ProcessExited and ProcessEnded
// when the child exited with a status other than 0 or was killed by a
// signal (Twisted's ProcessTerminated). It matches
// internet.ErrConnectionLost.
type ProcessTerminated struct {
	// ExitCode is the exit status, or -1 if a signal ended the process.
	ExitCode int
	// Signal is the signal that ended the process, or 0 if it exited.
	Signal syscall.Signal
	// CoreDumped reports whether the signal left a core dump.
	CoreDumped bool
}

// Error says how the process ended, in plain words.
func (e *ProcessTerminated) Error() string {
	if e.Signal != 0 {
		core := ""
		if e.CoreDumped {
			core = ", core dumped"
		}
		return fmt.Sprintf("process: the process was killed by signal %d (%v%s)", int(e.Signal), e.Signal, core)
	}
	return fmt.Sprintf("process: the process exited with status %d", e.ExitCode)
}

// Unwrap returns internet.ErrConnectionLost, as Twisted's
// ProcessTerminated is a ConnectionLost.
func (e *ProcessTerminated) Unwrap() error { return internet.ErrConnectionLost }

// Transport is the child process as its protocol sees it (Twisted's
// IProcessTransport). Its methods must be called on the process's loop.
type Transport interface {
	// Pid returns the child's process id; it stays valid after the child
	// exits, but the system may give the number to another process.
	Pid() int
	// Write sends b to the child's standard input, queueing what the pipe
	// does not take at once. It fails with ErrStdinClosed once stdin is
	// closed, and with internet.ErrOutputLimit, writing nothing, if the
	// queue would pass internet.DefaultOutputLimit.
	Write(b []byte) (int, error)
	// CloseStdin closes the child's standard input once what is queued is
	// written (Twisted's closeStdin).
	CloseStdin()
	// SignalProcess sends sig to the child; it returns
	// ErrProcessExitedAlready once the child has exited.
	SignalProcess(sig syscall.Signal) error
	// LoseConnection closes stdin (after the queue), stdout and stderr
	// (Twisted's loseConnection); the child is not signalled.
	LoseConnection()
	// PauseProducing stops reading the child's output, so that a child
	// that writes faster than the protocol consumes is held back by the
	// pipes; ResumeProducing reads again.
	PauseProducing()
	// ResumeProducing reads the child's output again.
	ResumeProducing()
	// RegisterProducer registers the producer of what is written to stdin,
	// paused while more than internet.DefaultHighWater bytes are queued and
	// resumed at internet.DefaultLowWater, as on a connection.
	RegisterProducer(p internet.Producer, streaming bool) error
	// UnregisterProducer forgets the producer.
	UnregisterProducer()
}

// ProcessProtocol hears what a child process does (Twisted's
// ProcessProtocol). Its methods are called on the loop the process was
// spawned on. Embed BaseProcessProtocol for no-op methods.
type ProcessProtocol interface {
	// ConnectionMade is called once the child runs, with its transport.
	ConnectionMade(t Transport)
	// OutReceived is called with bytes the child wrote to its standard
	// output; b is valid only during the call.
	OutReceived(b []byte)
	// ErrReceived is called with bytes the child wrote to its standard
	// error; b is valid only during the call.
	ErrReceived(b []byte)
	// InConnectionLost is called when the child's standard input is
	// closed, by CloseStdin or by the child.
	InConnectionLost()
	// OutConnectionLost is called when the child's standard output is
	// closed.
	OutConnectionLost()
	// ErrConnectionLost is called when the child's standard error is
	// closed.
	ErrConnectionLost()
	// ProcessExited is called when the child has exited, with
	// ErrProcessDone or a *ProcessTerminated; its pipes may still hold
	// output.
	ProcessExited(reason error)
	// ProcessEnded is called last, once the child has exited and its three
	// pipes are closed, with the same reason.
	ProcessEnded(reason error)
}

// BaseProcessProtocol implements ProcessProtocol with methods that do
// nothing but keep the transport, for embedding.
type BaseProcessProtocol struct {
	// Transport is the child process, set by ConnectionMade.
	Transport Transport
}

// ConnectionMade keeps t in Transport.
func (p *BaseProcessProtocol) ConnectionMade(t Transport) { p.Transport = t }

// OutReceived does nothing.
func (p *BaseProcessProtocol) OutReceived(b []byte) {}

// ErrReceived does nothing.
func (p *BaseProcessProtocol) ErrReceived(b []byte) {}

// InConnectionLost does nothing.
func (p *BaseProcessProtocol) InConnectionLost() {}

// OutConnectionLost does nothing.
func (p *BaseProcessProtocol) OutConnectionLost() {}

// ErrConnectionLost does nothing.
func (p *BaseProcessProtocol) ErrConnectionLost() {}

// ProcessExited does nothing.
func (p *BaseProcessProtocol) ProcessExited(reason error) {}

// ProcessEnded does nothing.
func (p *BaseProcessProtocol) ProcessEnded(reason error) {}
