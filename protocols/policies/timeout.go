package policies

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
)

// Default time-outs, as twistd's plugins use them.
const (
	// DefaultIdleTimeout is how long a connection may send nothing while
	// nothing it asked for is pending.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultReadTimeout is how long a peer may take to finish sending a
	// message it has begun.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout is how long a peer may leave output queued for
	// it without reading any of it.
	DefaultWriteTimeout = 30 * time.Second
)

// TimeoutMixin calls a function when a period passes without activity
// (Twisted's TimeoutMixin). Embed it in a protocol, start it with
// SetTimeout and call ResetTimeout on activity. Its zero value is stopped.
// Its methods must be called on the loop of the clock it was given.
//
// As in Twisted, what counts as activity is the protocol's to say: a
// protocol that resets it on each read and write counts the bytes it hands
// to its transport, not those the peer takes, and so may time out a slow
// reader whose answers are still queued. Timeout counts those too, and has
// a write time-out for a peer that stops reading.
type TimeoutMixin struct {
	clk      clock.Clock
	period   time.Duration
	call     clock.DelayedCall
	timedOut func()
}

// SetTimeout calls timedOut on c once period passes without a ResetTimeout;
// a period of 0 stops the time-out. It replaces any time-out running.
func (m *TimeoutMixin) SetTimeout(c clock.Clock, period time.Duration, timedOut func()) {
	m.CancelTimeout()
	if period <= 0 {
		return
	}
	m.clk, m.period, m.timedOut = c, period, timedOut
	m.call = c.CallLater(period, m.fire)
}

// ResetTimeout starts the period again, if the time-out is running.
func (m *TimeoutMixin) ResetTimeout() {
	if m.call != nil {
		_ = m.call.Reset(m.period)
	}
}

// TimeoutActive reports whether the time-out is running.
func (m *TimeoutMixin) TimeoutActive() bool { return m.call != nil }

// CancelTimeout stops the time-out.
func (m *TimeoutMixin) CancelTimeout() {
	if m.call != nil {
		_ = m.call.Cancel()
		m.call = nil
	}
}

func (m *TimeoutMixin) fire() {
	m.call = nil
	m.timedOut()
}

// TimeoutConfig are the time-outs of Timeout. A zero duration turns its
// time-out off.
type TimeoutConfig struct {
	// Idle closes a connection that sends nothing and reads none of its
	// queued output for this long while nothing it asked for is pending
	// (DefaultIdleTimeout in twistd). While output is queued and Write is
	// set, the write time-out decides instead.
	Idle time.Duration
	// Read closes a connection that takes longer than this to finish a
	// message it has begun (DefaultReadTimeout in twistd). It needs a
	// wrapped protocol that implements MessageState.
	Read time.Duration
	// Write aborts a connection whose queued output makes no progress
	// (none of it is taken by the kernel) for this long: its peer has
	// stopped reading (DefaultWriteTimeout in twistd). The output is
	// dropped, with a logged reason. It needs a transport that is an
	// internet.OutputQueue (*internet.Conn, TLS, the wrappers of this
	// package); on others it never fires.
	Write time.Duration
	// Clock runs the time-outs; nil means each connection's loop.
	Clock clock.Clock
}

// Timeout returns f's protocols wrapped with the time-outs of cfg (Twisted's
// TimeoutFactory, with a read time-out beside the idle one).
//
// When the wrapped protocol implements MessageState, the idle time-out
// counts only while no message is partly received and no request is
// pending, and the read time-out runs from the first byte of a message to
// its last, however slowly the bytes come: that is what stops a peer from
// holding a connection with a byte now and then. A protocol with only
// PartialMessage (the receivers of package basic) gets the read time-out,
// and counts as having nothing pending. Without either, any byte read or
// written restarts the idle time-out, as in Twisted, and there is no read
// time-out.
//
// Unlike Twisted's TimeoutFactory, the idle time-out also counts the
// output the peer takes: a connection is not idle while its output
// drains, however slowly, so a slow reader loses nothing. While output is
// pending (internet.OutputQueue: in the transport's queue, or on Linux in
// the kernel's buffer), a watch looks at it every quarter of the shorter
// of Idle and Write; a connection whose output has not moved for Write is
// aborted, as waiting for a flush that does not come would hold it for
// ever: between Write and 1¼ Write after its output last moved when a
// write left output queued, and up to Idle later when a write did not
// (the output waits in the kernel's buffer, or behind a pull producer
// waiting for the socket), as the watch then starts when the idle
// time-out expires. A reader that stops for less than Write, however long
// the idle time-out, loses nothing either.
//
// A connection that times out is closed once its output is written, with
// the producer the wrapped protocol registered unregistered first (a
// transport waits for that before it closes); if it is still open one idle
// period later (its peer does not read), it is aborted.
func Timeout(f internet.Factory, cfg TimeoutConfig) *WrappingFactory {
	return &WrappingFactory{Wrapped: f, Policy: &timeoutPolicy{cfg: cfg}}
}

type timeoutPolicy struct {
	admitAll
	cfg TimeoutConfig
}

func (t *timeoutPolicy) Wrap(w *ProtocolWrapper) Wrapper {
	return &timeoutProtocol{ProtocolWrapper: w, cfg: &t.cfg}
}

type timeoutProtocol struct {
	*ProtocolWrapper
	cfg   *TimeoutConfig
	clk   clock.Clock
	state MessageState
	out   internet.OutputQueue // the transport's, or nil
	idle  TimeoutMixin
	read  TimeoutMixin
	// write is the output watch, running while output is queued; flushed
	// is the transport's count when it last moved, at movedAt.
	write   TimeoutMixin
	flushed uint64
	movedAt time.Time
	closing bool
}

func (p *timeoutProtocol) ConnectionMade(t internet.Transport) {
	p.clk = ConnectionClock(p.cfg.Clock, t)
	p.state = messageState(p.Wrapped)
	p.out, _ = t.(internet.OutputQueue)
	p.ProtocolWrapper.ConnectionMade(t)
	if p.clk != nil && !p.lost {
		p.idle.SetTimeout(p.clk, p.cfg.Idle, p.idleTimedOut)
		p.watchRead()
	}
}

func (p *timeoutProtocol) DataReceived(data []byte) {
	p.idle.ResetTimeout()
	p.ProtocolWrapper.DataReceived(data)
	p.watchRead()
}

func (p *timeoutProtocol) Write(b []byte) (int, error) {
	p.idle.ResetTimeout()
	n, err := p.ProtocolWrapper.Write(b)
	p.watchOutput()
	return n, err
}

func (p *timeoutProtocol) WriteSequence(bufs [][]byte) error {
	p.idle.ResetTimeout()
	err := p.ProtocolWrapper.WriteSequence(bufs)
	p.watchOutput()
	return err
}

func (p *timeoutProtocol) ConnectionLost(reason error) {
	p.idle.CancelTimeout()
	p.read.CancelTimeout()
	p.write.CancelTimeout()
	p.ProtocolWrapper.ConnectionLost(reason)
}

// watchOutput starts the output watch if output is queued and the watch is
// not running. After a write the socket took whole, it costs a look at a
// field or two of the transport.
func (p *timeoutProtocol) watchOutput() {
	if p.out != nil && !p.write.TimeoutActive() && p.out.QueuedOutput() > 0 {
		_, progress := p.out.OutputProgress()
		p.startWatch(progress)
	}
}

// startWatch starts the output watch, progress being the transport's
// count now.
func (p *timeoutProtocol) startWatch(progress uint64) {
	if p.clk == nil || p.lost {
		return
	}
	p.flushed, p.movedAt = progress, p.clk.Now()
	p.write.SetTimeout(p.clk, p.watchPeriod(), p.checkOutput)
}

// watchPeriod is how often the output watch looks: a quarter of the
// shorter time-out it serves.
func (p *timeoutProtocol) watchPeriod() time.Duration {
	d := p.cfg.Write
	if d <= 0 || (p.cfg.Idle > 0 && p.cfg.Idle < d) {
		d = p.cfg.Idle
	}
	if d <= 0 {
		d = p.cfg.Read
	}
	return max(d/4, time.Millisecond)
}

// checkOutput is the output watch: output the peer took since the last
// look is activity, and output pending that has not moved for the write
// time-out aborts the connection. The watch ends when nothing is pending;
// the next write that leaves output queued, or the idle time-out's next
// expiry, starts it again.
func (p *timeoutProtocol) checkOutput() {
	pending, progress := p.out.OutputProgress()
	now := p.clk.Now()
	if progress != p.flushed {
		p.flushed, p.movedAt = progress, now
		p.idle.ResetTimeout()
	}
	if pending == 0 || p.lost {
		return
	}
	if p.cfg.Write > 0 && now.Sub(p.movedAt) >= p.cfg.Write {
		p.writeTimedOut(pending)
		return
	}
	p.write.SetTimeout(p.clk, p.watchPeriod(), p.checkOutput)
}

// outputBusy reports, as the idle time-out expires, whether the output
// keeps the connection from being idle: the peer took some since the
// running watch last looked (activity it has not seen yet), or some is
// pending for the write time-out to judge, in which case it makes sure the
// watch runs. Output may be pending with nothing queued: in the kernel's
// buffer, behind a pull producer waiting for the socket to be writable.
func (p *timeoutProtocol) outputBusy() bool {
	if p.out == nil {
		return false
	}
	pending, progress := p.out.OutputProgress()
	if p.write.TimeoutActive() {
		if progress != p.flushed {
			p.flushed, p.movedAt = progress, p.clk.Now()
			return true
		}
		return p.cfg.Write > 0 && pending > 0
	}
	if p.cfg.Write <= 0 || pending == 0 {
		return false
	}
	p.startWatch(progress)
	return true
}

// idlePeriod is the idle timer's period: the idle time-out, or once the
// connection is closing, the time it is given to close.
func (p *timeoutProtocol) idlePeriod() time.Duration {
	if p.closing && p.cfg.Idle <= 0 {
		return p.cfg.Read
	}
	return p.cfg.Idle
}

// writeTimedOut aborts the connection, whose peer has not read for the
// write time-out: its pending output is dropped.
func (p *timeoutProtocol) writeTimedOut(pending int) {
	slog.Info(fmt.Sprintf("policies: aborting the connection from %v: it read nothing for %v, %d bytes unread (write time-out)",
		p.RemoteAddr(), p.cfg.Write, pending))
	p.closing = true
	p.idle.CancelTimeout()
	p.read.CancelTimeout()
	p.AbortConnection()
}

// watchRead starts the read time-out when a message has begun, and stops
// it when none is partly received. It is not restarted by more bytes of
// the same message.
func (p *timeoutProtocol) watchRead() {
	if p.state == nil || p.cfg.Read <= 0 || p.clk == nil || p.closing || p.lost {
		return
	}
	switch partial := p.state.PartialMessage(); {
	case partial && !p.read.TimeoutActive():
		p.read.SetTimeout(p.clk, p.cfg.Read, p.readTimedOut)
	case !partial:
		p.read.CancelTimeout()
	}
}

// busy reports whether the connection is waiting on the server, not the
// peer: a request pending, reading paused by the server, or a message
// begun that the read time-out watches.
func (p *timeoutProtocol) busy() bool {
	if p.paused != 0 {
		return true
	}
	if p.state == nil {
		return false
	}
	return p.state.Pending() > 0 || (p.cfg.Read > 0 && p.state.PartialMessage())
}

func (p *timeoutProtocol) idleTimedOut() {
	if p.outputBusy() || !p.closing && p.busy() {
		p.idle.SetTimeout(p.clk, p.idlePeriod(), p.idleTimedOut)
		return
	}
	p.timedOut(fmt.Sprintf("sent nothing for %v (idle time-out)", p.cfg.Idle))
}

func (p *timeoutProtocol) readTimedOut() {
	if !p.state.PartialMessage() {
		return // finished, or the receiver paused itself since
	}
	if p.paused != 0 {
		p.read.SetTimeout(p.clk, p.cfg.Read, p.readTimedOut)
		return
	}
	p.timedOut(fmt.Sprintf("did not finish a message within %v (read time-out)", p.cfg.Read))
}

// timedOut closes the connection, or aborts it if an earlier close has not
// finished within an idle period.
func (p *timeoutProtocol) timedOut(why string) {
	peer := p.RemoteAddr()
	if p.closing {
		slog.Info(fmt.Sprintf("policies: aborting the connection from %v: it did not close", peer))
		p.AbortConnection()
		return
	}
	slog.Info(fmt.Sprintf("policies: closing the connection from %v: it %s", peer, why))
	p.closing = true
	p.read.CancelTimeout()
	p.idle.SetTimeout(p.clk, p.idlePeriod(), p.idleTimedOut)
	p.UnregisterProducer()
	p.LoseConnection()
}
