package process

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// DefaultMaxOutput is how many bytes of output (stdout and stderr
// together) GetProcessOutput and GetProcessOutputAndValue keep by default.
const DefaultMaxOutput = 16 << 20

// ErrOutputTooLarge is the reason the helpers fail when the child wrote
// more than their limit (see WithMaxOutput): the child is killed then.
var ErrOutputTooLarge = errors.New("process: the process wrote more output than the limit")

// An OutputOption configures GetProcessOutput, GetProcessOutputAndValue and
// GetProcessValue.
type OutputOption func(*outputConfig)

type outputConfig struct {
	errorToo  bool
	maxOutput int
}

// WithErrorToo makes GetProcessOutput take the child's standard error into
// its output, as Twisted's errortoo does, instead of failing on it.
func WithErrorToo() OutputOption { return func(c *outputConfig) { c.errorToo = true } }

// WithMaxOutput sets how many bytes of output are kept; past that the
// child is killed with SIGKILL and the Deferred fails with
// ErrOutputTooLarge. The default is DefaultMaxOutput.
func WithMaxOutput(n int) OutputOption { return func(c *outputConfig) { c.maxOutput = n } }

// StderrError is the reason GetProcessOutput fails when the child wrote to
// its standard error (Twisted's _UnexpectedErrorOutput): the connection to
// the child is closed at once, and the Deferred fails once it has ended.
type StderrError struct {
	// Stderr is the first of what the child wrote to its standard error,
	// at most 1 KiB of it.
	Stderr []byte
	// Reason is how the child ended: ErrProcessDone or a
	// *ProcessTerminated.
	Reason error
}

// maxStderrQuoted bounds StderrError.Stderr and its message.
const maxStderrQuoted = 1 << 10

// Error quotes the start of what the child wrote to stderr.
func (e *StderrError) Error() string {
	s := e.Stderr
	if len(s) > 80 {
		s = s[:80]
	}
	return fmt.Sprintf("process: the process wrote to its standard error: %q", s)
}

// Output is what GetProcessOutputAndValue gives: the child's output and
// exit status.
type Output struct {
	Stdout, Stderr []byte
	// ExitCode is the exit status.
	ExitCode int
}

// SignalError is the reason GetProcessOutputAndValue fails when a signal
// killed the child (Twisted errbacks with (out, err, signal)): it holds
// the output all the same.
type SignalError struct {
	Output
	// Signal is the signal that killed the child.
	Signal syscall.Signal
}

// Error names the signal.
func (e *SignalError) Error() string {
	return fmt.Sprintf("process: the process was killed by signal %d (%v)", int(e.Signal), e.Signal)
}

// collector is the protocol of the helpers: it keeps the output and calls
// done when the child has ended.
type collector struct {
	BaseProcessProtocol
	cfg            outputConfig
	stdout, stderr []byte
	// stderrBad fails GetProcessOutput at the first stderr byte.
	stderrBad bool
	// discard drops the output (GetProcessValue).
	discard bool
	failure error
	done    func(c *collector, reason error)
}

func (c *collector) ConnectionMade(t Transport) {
	c.BaseProcessProtocol.ConnectionMade(t)
	t.CloseStdin()
}

func (c *collector) OutReceived(b []byte) { c.keep(&c.stdout, b) }

func (c *collector) ErrReceived(b []byte) {
	switch {
	case c.cfg.errorToo:
		c.keep(&c.stdout, b)
	case c.stderrBad:
		if c.failure == nil {
			c.failure = &StderrError{Stderr: append([]byte(nil), b[:min(len(b), maxStderrQuoted)]...)}
			c.Transport.LoseConnection()
		}
	default:
		c.keep(&c.stderr, b)
	}
}

// keep appends b to *dst within the output limit.
func (c *collector) keep(dst *[]byte, b []byte) {
	if c.failure != nil || c.discard {
		return
	}
	if len(c.stdout)+len(c.stderr)+len(b) > c.cfg.maxOutput {
		c.failure = ErrOutputTooLarge
		_ = c.Transport.SignalProcess(syscall.SIGKILL)
		c.Transport.LoseConnection()
		return
	}
	*dst = append(*dst, b...)
}

func (c *collector) ProcessEnded(reason error) {
	if se, ok := c.failure.(*StderrError); ok {
		se.Reason = reason
	}
	c.done(c, reason)
}

// run spawns argv with a collector and returns the Deferred that done
// fires.
func run(loop *reactor.Reactor, argv, env []string, dir string, opts []OutputOption, c *collector,
	done func(c *collector, reason error) (any, error)) *deferred.Deferred {
	c.cfg.maxOutput = DefaultMaxOutput
	for _, o := range opts {
		o(&c.cfg)
	}
	d := deferred.New()
	c.done = func(c *collector, reason error) {
		if c.failure != nil {
			d.Errback(c.failure)
			return
		}
		v, err := done(c, reason)
		if err != nil {
			d.Errback(err)
			return
		}
		d.Callback(v)
	}
	if _, err := SpawnProcess(loop, c, argv, env, dir); err != nil {
		return deferred.Fail(err)
	}
	return d
}

// GetProcessOutput runs argv (see SpawnProcess for argv, env and dir) and
// gives a Deferred that fires with what it wrote to its standard output,
// a []byte, once it has ended, whatever its exit status (Twisted's
// getProcessOutput). If the child writes to its standard error, the
// connection to it is closed and the Deferred fails with a *StderrError,
// unless WithErrorToo is given. The child's standard input is closed at
// once. It must be called on loop.
func GetProcessOutput(loop *reactor.Reactor, argv, env []string, dir string, opts ...OutputOption) *deferred.Deferred {
	return run(loop, argv, env, dir, opts, &collector{stderrBad: true}, func(c *collector, _ error) (any, error) {
		return c.stdout, nil
	})
}

// GetProcessOutputAndValue runs argv and gives a Deferred that fires with
// an Output, its standard output and error and exit status, once it has
// ended (Twisted's getProcessOutputAndValue); if a signal killed it, the
// Deferred fails with a *SignalError that holds the output. The child's
// standard input is closed at once. It must be called on loop.
func GetProcessOutputAndValue(loop *reactor.Reactor, argv, env []string, dir string, opts ...OutputOption) *deferred.Deferred {
	return run(loop, argv, env, dir, opts, &collector{}, func(c *collector, reason error) (any, error) {
		out := Output{Stdout: c.stdout, Stderr: c.stderr}
		var pt *ProcessTerminated
		if errors.As(reason, &pt) {
			if pt.Signal != 0 {
				return nil, &SignalError{Output: out, Signal: pt.Signal}
			}
			out.ExitCode = pt.ExitCode
		} else if reason != ErrProcessDone {
			return nil, reason
		}
		return out, nil
	})
}

// GetProcessValue runs argv and gives a Deferred that fires with its exit
// status, an int, once it has ended (Twisted's getProcessValue); its
// output is read and dropped. If a signal killed it, the Deferred fails
// with the *ProcessTerminated (Twisted gives None). It must be called on
// loop.
func GetProcessValue(loop *reactor.Reactor, argv, env []string, dir string) *deferred.Deferred {
	return run(loop, argv, env, dir, nil, &collector{discard: true}, func(c *collector, reason error) (any, error) {
		var pt *ProcessTerminated
		if errors.As(reason, &pt) {
			if pt.Signal != 0 {
				return nil, pt
			}
			return pt.ExitCode, nil
		}
		if reason != ErrProcessDone {
			return nil, reason
		}
		return 0, nil
	})
}
