package reactor

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/twistgo/twist/deferred"
)

// readBufferSize is the size of the loop's shared read buffer.
const readBufferSize = 64 << 10

// ErrConnectionLost is the reason given to FileDescriptor.ConnectionLost for
// the descriptors still watched when the reactor shuts down (Twisted's
// main.CONNECTION_LOST).
var ErrConnectionLost = errors.New("reactor: connection lost: the reactor shut down")

// ErrNotSupported is returned by AddReader and AddWriter on systems where
// the reactor cannot watch file descriptors (Windows): there, only timers
// and posted calls work.
var ErrNotSupported = errors.New("reactor: watching file descriptors is not supported on " + runtime.GOOS)

// FileDescriptor is a file descriptor watched by the reactor, and the handler
// of its readiness: Twisted's IReadDescriptor and IWriteDescriptor in one.
// The transports implement it. All its methods are called on the loop.
type FileDescriptor interface {
	// Fd returns the descriptor's number. It must not change while the
	// descriptor is watched.
	Fd() int
	// DoRead is called while the descriptor is readable, or at end of file,
	// or on an error or hang-up, as long as it is watched for reading.
	DoRead()
	// DoWrite is called while the descriptor is writable, or on an error or
	// hang-up, as long as it is watched for writing.
	DoWrite()
	// ConnectionLost is called when the reactor drops the descriptor: with
	// ErrConnectionLost at shutdown, and with a *deferred.PanicError when
	// DoRead or DoWrite panicked. The reactor has stopped watching it by
	// then; closing it is the descriptor's job.
	ConnectionLost(reason error)
}

// interest is the set of events a descriptor is watched for.
type interest uint8

const (
	readable interest = 1 << iota
	writable
)

// AddReader watches d for reading: DoRead is called on each turn of the
// loop while d is readable.
//
// Watching is level-triggered, as in Twisted: a handler that leaves data
// unread is called again on the next turn, so one busy connection cannot
// starve the others by being read to exhaustion, and no readiness is ever
// lost. Handlers must tolerate a spurious call (a read that returns EAGAIN).
//
// Adding a reader or writer that is already watched costs nothing, and so
// does removing one that is not. The reactor finds handlers through a table
// indexed by descriptor number, and remembers one FileDescriptor per number:
// a d with the number of another watched descriptor replaces it. Remove a
// descriptor (RemoveAll) before closing it.
func (r *Reactor) AddReader(d FileDescriptor) error { return r.watch(d, readable, true) }

// AddWriter watches d for writing: DoWrite is called on each turn of the
// loop while d is writable, so remove the writer once nothing is left to
// write. See AddReader.
func (r *Reactor) AddWriter(d FileDescriptor) error { return r.watch(d, writable, true) }

// RemoveReader stops watching d for reading.
func (r *Reactor) RemoveReader(d FileDescriptor) error { return r.watch(d, readable, false) }

// RemoveWriter stops watching d for writing.
func (r *Reactor) RemoveWriter(d FileDescriptor) error { return r.watch(d, writable, false) }

// RemoveAll stops watching every descriptor and returns them.
func (r *Reactor) RemoveAll() []FileDescriptor {
	var all []FileDescriptor
	for fd, d := range r.fds {
		if d != nil {
			all = append(all, d)
			r.unwatch(fd)
		}
	}
	return all
}

// ReadBuffer returns the loop's 64 KiB read buffer, shared by all the
// descriptors of the loop so that reads never allocate. It may be used only
// by a callback on the loop, and its contents are valid only until that
// callback returns.
func (r *Reactor) ReadBuffer() []byte { return r.readBuf }

// watch adds (on) or removes one interest of d.
func (r *Reactor) watch(d FileDescriptor, in interest, on bool) error {
	fd := d.Fd()
	if fd < 0 {
		return fmt.Errorf("reactor: invalid file descriptor %d", fd)
	}
	if fd >= len(r.fds) {
		if !on {
			return nil
		}
		r.fds = append(r.fds, make([]FileDescriptor, fd+1-len(r.fds))...)
		r.fds = r.fds[:cap(r.fds)]
		r.ins = append(r.ins, make([]interest, len(r.fds)-len(r.ins))...)
	}
	if cur := r.fds[fd]; cur != d {
		if !on {
			return nil
		}
		if cur != nil {
			// A stale entry: its descriptor was closed without being
			// removed. Forget what the poller may still hold for it.
			r.unwatch(fd)
		}
	}
	old := r.ins[fd]
	next := old &^ in
	if on {
		next = old | in
	}
	if next == old {
		return nil
	}
	if err := r.p.control(fd, old, next); err != nil {
		return err
	}
	r.ins[fd] = next
	r.fds[fd] = d
	if next == 0 {
		r.fds[fd] = nil
	}
	return nil
}

// unwatch forgets fd, whatever watches it.
func (r *Reactor) unwatch(fd int) {
	if r.ins[fd] != 0 {
		// Errors mean the kernel has already forgotten it (closed).
		_ = r.p.control(fd, r.ins[fd], 0)
	}
	r.fds[fd], r.ins[fd] = nil, 0
}

// dispatch hands the n events of the last wait to their handlers. A
// handler's panic is recovered once for the batch, not with a deferred
// recover around each call, which the hot path would pay on every event:
// the descriptor that panicked is dropped as recoverDescriptor says, and
// the events after it are dispatched still.
func (r *Reactor) dispatch(n int) {
	for i := 0; i < n; {
		i = r.dispatchFrom(i, n)
	}
}

// dispatchFrom dispatches events i to n-1 and returns n, or, if a handler
// panicked, the index of the event after the one that did.
func (r *Reactor) dispatchFrom(i, n int) (next int) {
	defer func() {
		if v := recover(); v != nil {
			r.recoverDescriptor(r.current, r.currentD, v)
			next = i + 1
		}
	}()
	for ; i < n; i++ {
		fd, in := r.p.event(i)
		if fd >= 0 {
			r.stats.events++
			r.ready(fd, in)
		}
	}
	return n
}

// ready dispatches the readiness of fd, as reported by the poller, to its
// handler. An error or hang-up is reported as both readable and writable,
// and each handler is called only for what it is watched for, so the
// transport finds the error by reading or writing. Nothing here allocates.
func (r *Reactor) ready(fd int, in interest) {
	if fd >= len(r.fds) {
		return
	}
	d := r.fds[fd]
	if d == nil {
		return
	}
	r.current, r.currentD = fd, d
	if in&readable != 0 && r.ins[fd]&readable != 0 {
		d.DoRead()
	}
	// DoRead may have removed d, or the table may have grown: look again.
	if in&writable != 0 && r.fds[fd] == d && r.ins[fd]&writable != 0 {
		d.DoWrite()
	}
}

// recoverDescriptor handles a panic in the handler of fd: it logs it,
// stops watching the descriptor (a level-triggered handler that keeps
// panicking would otherwise spin the loop) and tells it through
// ConnectionLost, as Twisted's _doReadOrWrite disconnects a selectable that
// raised. The other descriptors go on.
func (r *Reactor) recoverDescriptor(fd int, d FileDescriptor, v any) {
	r.logPanic("file descriptor handler", v)
	if fd < len(r.fds) && r.fds[fd] == d {
		r.unwatch(fd)
	}
	r.safely("ConnectionLost", func() { d.ConnectionLost(&deferred.PanicError{Value: v}) })
}

// disconnectAll is the reactor's own "during shutdown" trigger: every
// descriptor still watched is removed and told that its connection is lost.
// One ConnectionLost that panics does not keep the others from being told.
func (r *Reactor) disconnectAll() *deferred.Deferred {
	for _, d := range r.RemoveAll() {
		r.safely("ConnectionLost", func() { d.ConnectionLost(ErrConnectionLost) })
	}
	return nil
}
