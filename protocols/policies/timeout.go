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
)

// TimeoutMixin calls a function when a period passes without activity
// (Twisted's TimeoutMixin). Embed it in a protocol, start it with
// SetTimeout and call ResetTimeout on activity. Its zero value is stopped.
// Its methods must be called on the loop of the clock it was given.
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
	// Idle closes a connection that sends nothing for this long while
	// nothing it asked for is pending (DefaultIdleTimeout in twistd).
	Idle time.Duration
	// Read closes a connection that takes longer than this to finish a
	// message it has begun (DefaultReadTimeout in twistd). It needs a
	// wrapped protocol that implements MessageState.
	Read time.Duration
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
	cfg     *TimeoutConfig
	clk     clock.Clock
	state   MessageState
	idle    TimeoutMixin
	read    TimeoutMixin
	closing bool
}

func (p *timeoutProtocol) ConnectionMade(t internet.Transport) {
	p.clk = ConnectionClock(p.cfg.Clock, t)
	p.state = messageState(p.Wrapped)
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
	return p.ProtocolWrapper.Write(b)
}

func (p *timeoutProtocol) WriteSequence(bufs [][]byte) error {
	p.idle.ResetTimeout()
	return p.ProtocolWrapper.WriteSequence(bufs)
}

func (p *timeoutProtocol) ConnectionLost(reason error) {
	p.idle.CancelTimeout()
	p.read.CancelTimeout()
	p.ProtocolWrapper.ConnectionLost(reason)
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
	if !p.closing && p.busy() {
		p.idle.SetTimeout(p.clk, p.cfg.Idle, p.idleTimedOut)
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
	grace := p.cfg.Idle
	if grace <= 0 {
		grace = p.cfg.Read
	}
	p.idle.SetTimeout(p.clk, grace, p.idleTimedOut)
	p.UnregisterProducer()
	p.LoseConnection()
}
