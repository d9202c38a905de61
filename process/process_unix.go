//go:build unix

package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// Process is a child process driven by a loop: the Transport its protocol
// gets. Its methods must be called on its loop.
type Process struct {
	loop   *reactor.Reactor
	proto  ProcessProtocol
	pid    int
	stdin  *writer
	stdout *reader
	stderr *reader
	reaper *reaper

	reason  error // how the child ended, once it has
	exited  bool
	ended   bool
	paused  bool
	started bool // ConnectionMade has been called
}

// SpawnProcess starts argv[0] with the arguments argv (argv[0] included),
// the environment env ("KEY=value"; nil inherits this process's, an empty
// slice gives none) and the working directory dir ("" for this process's)
// and drives it on loop with proto (Twisted's reactor.spawnProcess). An
// argv[0] without a slash is looked up in PATH. It must be called on loop,
// or before loop runs; proto's ConnectionMade is called before it returns.
//
// The returned error says why the child could not start: the program is
// missing or not executable, the directory does not exist, or the system
// is out of descriptors or processes.
func SpawnProcess(loop *reactor.Reactor, proto ProcessProtocol, argv []string, env []string, dir string) (*Process, error) {
	if len(argv) == 0 {
		return nil, errors.New("process: no program to run: argv is empty")
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		lp, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("process: cannot start %q: %w", argv[0], err)
		}
		path = lp
	}
	if env == nil {
		env = os.Environ()
	}
	var pipes [3][2]int // stdin, stdout, stderr: [read end, write end]
	closeAll := func() {
		for _, p := range pipes {
			for _, fd := range p {
				if fd > 0 {
					_ = unix.Close(fd)
				}
			}
		}
	}
	for i := range pipes {
		if err := pipe(&pipes[i]); err != nil {
			closeAll()
			return nil, fmt.Errorf("process: cannot start %q: pipe: %w", argv[0], err)
		}
	}
	// The child's ends: the read end of stdin, the write ends of the others.
	child := []uintptr{uintptr(pipes[0][0]), uintptr(pipes[1][1]), uintptr(pipes[2][1])}
	pidfd := -1
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Dir: dir, Env: env, Files: child, Sys: sysProcAttr(&pidfd)})
	for _, fd := range child {
		_ = unix.Close(int(fd))
	}
	pipes[0][0], pipes[1][1], pipes[2][1] = -1, -1, -1
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("process: cannot start %q: %w", argv[0], err)
	}
	p := &Process{loop: loop, proto: proto, pid: pid}
	p.stdin = &writer{p: p, fd: pipes[0][1]}
	p.stdout = &reader{p: p, fd: pipes[1][0], received: proto.OutReceived, lost: proto.OutConnectionLost}
	p.stderr = &reader{p: p, fd: pipes[2][0], received: proto.ErrReceived, lost: proto.ErrConnectionLost}
	for _, fd := range []int{p.stdin.fd, p.stdout.fd, p.stderr.fd} {
		_ = unix.SetNonblock(fd, true)
	}
	p.reaper = startReaper(p, pidfd)
	p.started = true
	proto.ConnectionMade(p)
	// Watching starts after ConnectionMade, so that the protocol hears of
	// output and loss only once it has its transport.
	if !p.paused {
		p.ResumeProducing()
	}
	// A pipe's write end becomes readable only at an error: when the child
	// has closed its end (Twisted's ProcessWriter watches it so).
	if w := p.stdin; w != nil {
		if err := loop.AddReader(w); err != nil {
			w.close()
		}
	}
	return p, nil
}

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.pid }

// Write sends b to the child's standard input; see Transport.
func (p *Process) Write(b []byte) (int, error) {
	if p.stdin == nil || p.stdin.closing {
		return 0, ErrStdinClosed
	}
	return p.stdin.write(b)
}

// CloseStdin closes the child's standard input once the queue is written.
func (p *Process) CloseStdin() {
	if w := p.stdin; w != nil && !w.closing {
		w.closing = true
		if len(w.queue) == 0 {
			w.close()
		}
	}
}

// SignalProcess sends sig to the child; see Transport.
func (p *Process) SignalProcess(sig syscall.Signal) error {
	if p.exited {
		return ErrProcessExitedAlready
	}
	return p.reaper.signal(sig)
}

// LoseConnection closes the three pipes, stdin after its queue.
func (p *Process) LoseConnection() {
	p.CloseStdin()
	for _, r := range []*reader{p.stdout, p.stderr} {
		if r != nil {
			r.close()
		}
	}
}

// PauseProducing stops reading the child's output.
func (p *Process) PauseProducing() {
	p.paused = true
	for _, r := range []*reader{p.stdout, p.stderr} {
		if r != nil {
			_ = p.loop.RemoveReader(r)
		}
	}
}

// ResumeProducing reads the child's output again.
func (p *Process) ResumeProducing() {
	p.paused = false
	for _, r := range []*reader{p.stdout, p.stderr} {
		if r != nil {
			if err := p.loop.AddReader(r); err != nil {
				r.close()
			}
		}
	}
}

// RegisterProducer registers the producer of stdin; see Transport.
func (p *Process) RegisterProducer(prod internet.Producer, streaming bool) error {
	if p.stdin == nil {
		return ErrStdinClosed
	}
	if p.stdin.producer != nil {
		return internet.ErrProducerRegistered
	}
	p.stdin.producer, p.stdin.streaming = prod, streaming
	if !streaming {
		p.stdin.resume()
	}
	return nil
}

// UnregisterProducer forgets the producer of stdin.
func (p *Process) UnregisterProducer() {
	if p.stdin != nil {
		p.stdin.producer = nil
	}
}

// childExited records how the child ended; the reaper calls it on the loop.
func (p *Process) childExited(ws unix.WaitStatus, err error) {
	p.exited = true
	switch {
	case err != nil:
		p.reason = fmt.Errorf("process: cannot learn how process %d ended: %w", p.pid, err)
	case ws.Signaled():
		p.reason = &ProcessTerminated{ExitCode: -1, Signal: ws.Signal(), CoreDumped: ws.CoreDump()}
	case ws.ExitStatus() == 0:
		p.reason = ErrProcessDone
	default:
		p.reason = &ProcessTerminated{ExitCode: ws.ExitStatus()}
	}
	p.proto.ProcessExited(p.reason)
	p.maybeEnded()
}

// maybeEnded calls ProcessEnded once the child has exited and every pipe
// is closed.
func (p *Process) maybeEnded() {
	if p.exited && !p.ended && p.stdin == nil && p.stdout == nil && p.stderr == nil {
		p.ended = true
		p.proto.ProcessEnded(p.reason)
	}
}

// reader is the parent's end of the child's stdout or stderr.
type reader struct {
	p        *Process
	fd       int
	received func([]byte)
	lost     func()
}

func (r *reader) Fd() int { return r.fd }

// DoRead reads once what the pipe holds; level-triggered watching brings
// it back while more is there.
func (r *reader) DoRead() {
	buf := r.p.loop.ReadBuffer()
	n, err := unix.Read(r.fd, buf)
	switch {
	case n > 0:
		r.received(buf[:n])
	case err == unix.EAGAIN || err == unix.EINTR:
	default: // end of file, or an error: the child's end is closed
		r.close()
	}
}

func (r *reader) DoWrite() {}

// ConnectionLost closes the pipe when the loop drops it.
func (r *reader) ConnectionLost(error) { r.close() }

func (r *reader) close() {
	if r.fd < 0 {
		return
	}
	_ = r.p.loop.RemoveReader(r)
	_ = unix.Close(r.fd)
	r.fd = -1
	if r.p.stdout == r {
		r.p.stdout = nil
	} else {
		r.p.stderr = nil
	}
	r.lost()
	r.p.maybeEnded()
}

// writer is the parent's end of the child's stdin.
type writer struct {
	p         *Process
	fd        int
	queue     []byte
	closing   bool // close once the queue is written
	producer  internet.Producer
	streaming bool
	paused    bool // the producer is paused by us
}

func (w *writer) Fd() int { return w.fd }

// write writes what the pipe takes and queues the rest.
func (w *writer) write(b []byte) (int, error) {
	if len(w.queue)+len(b) > internet.DefaultOutputLimit {
		return 0, internet.ErrOutputLimit
	}
	total := len(b)
	if len(w.queue) == 0 {
		n, err := unix.Write(w.fd, b)
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			w.close() // EPIPE: the child closed its end
			return 0, ErrStdinClosed
		}
		b = b[max(n, 0):]
		if len(b) == 0 {
			return total, nil
		}
		if err := w.p.loop.AddWriter(w); err != nil {
			w.close()
			return 0, err
		}
	}
	w.queue = append(w.queue, b...)
	if w.producer != nil && w.streaming && !w.paused && len(w.queue) > internet.DefaultHighWater {
		w.paused = true
		if pp, ok := w.producer.(internet.PushProducer); ok {
			pp.PauseProducing()
		}
	}
	return total, nil
}

// DoRead is called only when the child has closed its end of the pipe.
func (w *writer) DoRead() { w.close() }

// DoWrite writes the queue.
func (w *writer) DoWrite() {
	n, err := unix.Write(w.fd, w.queue)
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		w.close()
		return
	}
	rest := copy(w.queue, w.queue[max(n, 0):])
	w.queue = w.queue[:rest]
	if cap(w.queue) > 4*internet.DefaultHighWater && rest < internet.DefaultLowWater {
		w.queue = append([]byte(nil), w.queue...) // give back a big buffer
	}
	if rest > 0 {
		if rest <= internet.DefaultLowWater && w.paused {
			w.paused = false
			w.resume()
		}
		return
	}
	_ = w.p.loop.RemoveWriter(w)
	switch {
	case w.closing:
		w.close()
	case w.paused:
		w.paused = false
		w.resume()
	case w.producer != nil && !w.streaming:
		w.resume()
	}
}

// resume asks the producer for more: a paused push producer, or a pull
// producer once the queue is written.
func (w *writer) resume() {
	if r, ok := w.producer.(internet.PullProducer); ok {
		r.ResumeProducing()
	}
}

// ConnectionLost closes the pipe when the loop drops it.
func (w *writer) ConnectionLost(error) { w.close() }

func (w *writer) close() {
	if w.fd < 0 {
		return
	}
	_ = w.p.loop.RemoveReader(w)
	_ = w.p.loop.RemoveWriter(w)
	_ = unix.Close(w.fd)
	w.fd = -1
	w.queue = nil
	w.p.stdin = nil
	if w.producer != nil {
		w.producer.StopProducing()
		w.producer = nil
	}
	w.p.proto.InConnectionLost()
	w.p.maybeEnded()
}
