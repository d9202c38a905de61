package policies

import (
	"net"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// MessageState is implemented by protocols that can tell a policy where they
// are in their conversation, so that a time-out tells an idle connection from
// a busy one. The time-out policy uses it when the wrapped protocol, or the
// protocol that one wraps, implements it.
type MessageState interface {
	// PartialMessage reports whether bytes of a message that has not finished arriving are buffered.
	PartialMessage() bool
	// Pending reports how many requests were received and are not yet answered.
	Pending() int
}

// partialReporter is the half of MessageState that the read time-out needs:
// every receiver of package basic has it.
type partialReporter interface{ PartialMessage() bool }

// messageState returns the MessageState of p or of the innermost protocol it
// wraps that reports partial messages, or nil. A protocol that reports them
// without Pending counts as having nothing pending.
func messageState(p internet.Protocol) MessageState {
	for p != nil {
		if ms, ok := p.(MessageState); ok {
			return ms
		}
		if pr, ok := p.(partialReporter); ok {
			return nonePending{pr}
		}
		w, ok := p.(interface{ WrappedProtocol() internet.Protocol })
		if !ok {
			return nil
		}
		p = w.WrappedProtocol()
	}
	return nil
}

// nonePending is the MessageState of a protocol that reports only partial
// messages.
type nonePending struct{ partialReporter }

func (nonePending) Pending() int { return 0 }

// ConnectionClock returns c, or if it is nil the loop of the connection t
// (an internet.Looper), or nil if t has none: the clock a per-connection
// timer runs on, so that it fires on the connection's loop.
func ConnectionClock(c clock.Clock, t internet.Transport) clock.Clock {
	if c != nil {
		return c
	}
	if l, ok := t.(internet.Looper); ok && l.Loop() != nil {
		return l.Loop()
	}
	return nil
}

// A Wrapper stands between a transport and the protocol it wraps: a Protocol
// to the transport, a Transport to the protocol.
type Wrapper interface {
	internet.Protocol
	internet.Transport
}

// A Policy is what a WrappingFactory asks about each connection. A
// WrappingFactory with no Policy wraps every connection in a plain
// ProtocolWrapper.
type Policy interface {
	// Admit is called before a protocol is built for a peer at addr; false
	// refuses the connection. It may be called from several loops at once.
	Admit(addr net.Addr) bool
	// Release is called once for every admitted connection: when it is
	// lost, or at once if the wrapped factory refused it.
	Release(addr net.Addr)
	// Wrap returns the protocol that stands between the transport and the
	// protocol w wraps: w itself, or a protocol that embeds it and
	// overrides the methods the policy needs.
	Wrap(w *ProtocolWrapper) Wrapper
}

// WrappingFactory builds the protocols of its Wrapped factory, each behind a
// wrapper of its Policy's making (Twisted's WrappingFactory).
type WrappingFactory struct {
	// Wrapped builds the protocols being wrapped.
	Wrapped internet.Factory
	// Policy admits and wraps connections; nil admits all, plainly wrapped.
	Policy Policy
}

// BuildProtocol returns the wrapped factory's protocol for addr behind its
// wrapper, or nil if the Policy or the wrapped factory refuses the connection.
func (f *WrappingFactory) BuildProtocol(addr net.Addr) internet.Protocol {
	if f.Policy != nil && !f.Policy.Admit(addr) {
		return nil
	}
	p := f.Wrapped.BuildProtocol(addr)
	if p == nil {
		if f.Policy != nil {
			f.Policy.Release(addr)
		}
		return nil
	}
	w := &ProtocolWrapper{Wrapped: p, factory: f, addr: addr}
	w.self = w
	if f.Policy != nil {
		w.self = f.Policy.Wrap(w)
	}
	return w.self
}

// WrappedFactory returns the wrapped factory: logs name a WrappingFactory
// by the factory it wraps.
func (f *WrappingFactory) WrappedFactory() internet.Factory { return f.Wrapped }

// StartFactory starts the wrapped factory, if it is an internet.Starter.
func (f *WrappingFactory) StartFactory() {
	if s, ok := f.Wrapped.(internet.Starter); ok {
		s.StartFactory()
	}
}

// StopFactory stops the wrapped factory, if it is an internet.Starter.
func (f *WrappingFactory) StopFactory() {
	if s, ok := f.Wrapped.(internet.Starter); ok {
		s.StopFactory()
	}
}

// Reasons for which a wrapper pauses reading, a bit set: the transport reads
// only when none holds.
const (
	pausedByWrapped  uint8 = 1 << iota // the wrapped protocol paused its transport
	pausedByOutput                     // queued output passed the high-water mark
	pausedByThrottle                   // reads passed their rate
)

// ProtocolWrapper passes everything between a transport and the protocol it
// wraps (Twisted's ProtocolWrapper). Policies embed a *ProtocolWrapper and
// override what they watch; its methods call the outermost wrapper's, so an
// override is seen by the wrapped protocol.
//
// Reading is paused while any of the wrapped protocol and the policies of
// this wrapper want it paused, so that one's resume does not undo another's
// pause.
type ProtocolWrapper struct {
	// Wrapped is the protocol being wrapped.
	Wrapped internet.Protocol
	// Transport is the real transport, set by ConnectionMade.
	Transport internet.Transport

	factory  *WrappingFactory
	addr     net.Addr
	self     Wrapper // the outermost wrapper: what Wrapped sees
	paused   uint8
	producer internet.Producer // registered by Wrapped
	out      *outputWatch      // set by LimitQueuedOutput
	closing  bool              // LoseConnection was called
	lost     bool
}

// WrappedProtocol returns the wrapped protocol.
func (w *ProtocolWrapper) WrappedProtocol() internet.Protocol { return w.Wrapped }

// ConnectionMade records the transport and starts the wrapped protocol with
// the wrapper as its transport.
func (w *ProtocolWrapper) ConnectionMade(t internet.Transport) {
	w.Transport = t
	w.Wrapped.ConnectionMade(w.self)
}

// DataReceived passes data to the wrapped protocol.
func (w *ProtocolWrapper) DataReceived(data []byte) { w.Wrapped.DataReceived(data) }

// ConnectionLost tells the wrapped protocol, then releases the connection
// from its factory's Policy.
func (w *ProtocolWrapper) ConnectionLost(reason error) {
	if w.lost {
		return
	}
	w.lost = true
	w.Wrapped.ConnectionLost(reason)
	if w.factory != nil && w.factory.Policy != nil {
		w.factory.Policy.Release(w.addr)
	}
}

// Write writes b to the transport.
func (w *ProtocolWrapper) Write(b []byte) (int, error) { return w.Transport.Write(b) }

// WriteSequence writes bufs to the transport.
func (w *ProtocolWrapper) WriteSequence(bufs [][]byte) error { return w.Transport.WriteSequence(bufs) }

// LoseConnection closes the connection once its output is written. A
// producer the wrapper registered for itself is unregistered first, as the
// transport waits for that.
func (w *ProtocolWrapper) LoseConnection() {
	w.closing = true
	w.out.unregister(w)
	w.Transport.LoseConnection()
}

// AbortConnection closes the connection at once.
func (w *ProtocolWrapper) AbortConnection() { w.Transport.AbortConnection() }

// LocalAddr returns the transport's local address.
func (w *ProtocolWrapper) LocalAddr() net.Addr { return w.Transport.LocalAddr() }

// RemoteAddr returns the transport's peer address.
func (w *ProtocolWrapper) RemoteAddr() net.Addr { return w.Transport.RemoteAddr() }

// Loop returns the loop of the transport, or nil if it has none (a fake
// transport): the wrapper is an internet.Looper as real transports are.
func (w *ProtocolWrapper) Loop() *reactor.Reactor {
	if l, ok := w.Transport.(internet.Looper); ok {
		return l.Loop()
	}
	return nil
}

// QueuedOutput returns the transport's queued output
// (internet.OutputQueue), or 0 if it does not tell: a time-out sees
// through the wrappers outside it.
func (w *ProtocolWrapper) QueuedOutput() int {
	if q, ok := w.Transport.(internet.OutputQueue); ok {
		return q.QueuedOutput()
	}
	return 0
}

// OutputProgress returns the transport's pending output and progress
// (internet.OutputQueue), or zeros if it does not tell.
func (w *ProtocolWrapper) OutputProgress() (pending int, progress uint64) {
	if q, ok := w.Transport.(internet.OutputQueue); ok {
		return q.OutputProgress()
	}
	return 0, 0
}

// Disconnecting reports whether the transport is closing, if it can tell.
func (w *ProtocolWrapper) Disconnecting() bool {
	d, ok := w.Transport.(interface{ Disconnecting() bool })
	return ok && d.Disconnecting()
}

// PauseProducing pauses reading for the wrapped protocol.
func (w *ProtocolWrapper) PauseProducing() { w.pauseReading(pausedByWrapped) }

// ResumeProducing resumes reading for the wrapped protocol, unless a policy
// holds it paused.
func (w *ProtocolWrapper) ResumeProducing() { w.resumeReading(pausedByWrapped) }

// StopProducing stops the transport for good.
func (w *ProtocolWrapper) StopProducing() { w.Transport.StopProducing() }

// pauseReading pauses the transport for reason, one of the pausedBy bits.
func (w *ProtocolWrapper) pauseReading(reason uint8) {
	if w.paused == 0 && !w.lost {
		w.Transport.PauseProducing()
	}
	w.paused |= reason
}

// resumeReading lifts the pause for reason, and resumes the transport if no
// other reason holds it.
func (w *ProtocolWrapper) resumeReading(reason uint8) {
	if w.paused&reason == 0 {
		return
	}
	w.paused &^= reason
	if w.paused == 0 && !w.lost {
		w.Transport.ResumeProducing()
	}
}

// RegisterProducer registers the wrapped protocol's producer with the
// transport, in place of any the wrapper registered for itself.
func (w *ProtocolWrapper) RegisterProducer(p internet.Producer, streaming bool) error {
	if w.producer != nil {
		return internet.ErrProducerRegistered
	}
	w.out.unregister(w)
	// Recorded first: a pull producer is asked for data inside the
	// transport's RegisterProducer, and may finish and unregister there.
	w.producer = p
	if err := w.Transport.RegisterProducer(p, streaming); err != nil {
		w.producer = nil
		w.out.register(w)
		return err
	}
	return nil
}

// UnregisterProducer unregisters the wrapped protocol's producer.
func (w *ProtocolWrapper) UnregisterProducer() {
	if w.producer == nil {
		return
	}
	w.producer = nil
	w.Transport.UnregisterProducer()
	w.out.register(w)
}
