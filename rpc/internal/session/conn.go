package session

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/reactor"
)

// A Codec turns the messages of one connection into calls and answers.
type Codec interface {
	// Message handles one message, the bytes after its length prefix; msg
	// is valid only during the call. Answers go out through the Conn.
	Message(msg []byte)
	// TooLarge may answer a message whose length field n is past the
	// limit: the Conn closes the connection after it.
	TooLarge(n uint64)
}

// Config is what a Conn needs to know of its server. It is shared by the
// connections of a server and must not change while they live.
type Config struct {
	// Name prefixes the log messages: "rpc", "mongowire".
	Name string
	// LittleEndian and PrefixIncluded describe the length prefix, as the
	// fields of basic.IntStringReceiver of the same names.
	LittleEndian, PrefixIncluded bool
	// MinMessage and MaxMessage bound the length field of a message.
	MinMessage, MaxMessage int
	// MaxPending is how many calls may be outstanding.
	MaxPending int
	// MaxOutput is how many bytes of answers may be held for the peer.
	MaxOutput int
	// Logger receives why a connection was closed.
	Logger *slog.Logger
	// Group, if not nil, holds the connections, for draining.
	Group *Group
	// Clock, if not nil, is the clock of the calls' deadlines instead of
	// each connection's loop: a fake one in tests.
	Clock clock.Clock
}

// maxBatch is how many bytes of answers wait for the end of a read before
// they are written.
const maxBatch = 64 << 10

// holdBytes is how much input a connection takes in while it takes no
// calls (at the pending cap), before it pauses its transport: reading on
// meanwhile is what notices a peer that closes.
const holdBytes = 64 << 10

// retain is the largest scratch buffer kept between messages.
const retain = 64 << 10

// A Conn is one RPC connection: embed it in the codec's protocol, and call
// Init before the connection is made. Its methods run on the connection's
// loop.
type Conn struct {
	basic.Int32StringReceiver
	codec Codec
	cfg   *Config
	// self is the producer registered on the transport: the codec's
	// protocol, which embeds the Conn, or the Conn.
	self   internet.Producer
	ctx    context.Context
	cancel context.CancelFunc
	clk    clock.Clock
	// calls holds the Deferreds of the calls awaited, cancelled if the
	// connection is lost.
	calls map[*deferred.Deferred]struct{}
	// pending counts the outstanding calls: awaited, or answered and held
	// back behind an earlier one.
	pending int
	// ordered holds, from the first one not yet sent, the answers that go
	// out in call order.
	ordered []*slot
	// held counts the bytes of the answers in ordered; queued those
	// written while the transport's queue is full.
	held, queued int
	// full is set between the transport's PauseProducing and
	// ResumeProducing; holding while strings are held back; paused while
	// the transport is paused by the Conn.
	full, holding, paused bool
	// registered is set while the Conn is the transport's producer.
	registered bool
	// closing is set once the Conn closes the connection; lost once it is
	// gone; draining once Drain was called.
	closing, lost, draining bool
	// reading is set while a read is handled: answers collect in out, to
	// go out with one write at its end.
	reading bool
	out     []byte
	// outN counts the answers in out.
	outN int
	// sendFailed is set once a write of answers failed: that is logged
	// once per connection, and the rest only counted (see report).
	sendFailed bool
	// attrs are logged with every message about the connection.
	attrs []slog.Attr
}

// slot is an answer waiting for the earlier ones to be sent.
type slot struct {
	frame []byte
	done  bool
}

// Init sets the codec and the server's configuration.
func (c *Conn) Init(codec Codec, cfg *Config) {
	c.codec, c.cfg = codec, cfg
	c.Handler = c
	c.self = c
	if p, ok := codec.(internet.PushProducer); ok {
		c.self = p
	}
	c.MaxLength, c.MinLength = cfg.MaxMessage, cfg.MinMessage
	c.LittleEndian, c.PrefixIncluded = cfg.LittleEndian, cfg.PrefixIncluded
}

// ConnectionMade starts the connection: its context, its loop, and the Conn
// as the transport's producer.
func (c *Conn) ConnectionMade(t internet.Transport) {
	c.Int32StringReceiver.ConnectionMade(t)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var loop *reactor.Reactor
	if l, ok := t.(internet.Looper); ok {
		loop = l.Loop()
		c.clk = loop
	}
	if c.cfg.Clock != nil {
		c.clk = c.cfg.Clock
	}
	c.registered = true // first: on a closed transport, RegisterProducer stops c at once
	if err := t.RegisterProducer(c.self, true); err != nil {
		c.registered = false
		c.log("answers go out without flow control", slog.Any("error", err))
	}
	if c.cfg.Group != nil && c.cfg.Group.Add(c, loop) {
		c.Drain()
	}
}

// ConnectionLost cancels every pending call: their Deferreds are cancelled
// and the context given to their handlers is done.
func (c *Conn) ConnectionLost(reason error) {
	if c.cfg.Group != nil {
		c.cfg.Group.Remove(c)
	}
	c.lost = true
	c.ordered, c.out, c.outN = nil, nil, 0
	c.unregister()
	if c.cancel != nil {
		c.cancel()
	}
	for d := range c.calls {
		d.Cancel()
	}
}

// Context returns the connection's context, done once it is lost.
func (c *Conn) Context() context.Context { return c.ctx }

// Clock returns the connection's loop, or nil on a transport without one.
func (c *Conn) Clock() clock.Clock { return c.clk }

// CallContext returns the context of a call that allows maxTime: the
// connection's context with that deadline, by the connection's clock,
// carrying maxTime too (see MaxTime), and the function that releases it.
// maxTime 0 means no deadline.
func (c *Conn) CallContext(maxTime time.Duration) (context.Context, context.CancelFunc) {
	if maxTime <= 0 {
		return c.ctx, func() {}
	}
	now := time.Now()
	if c.clk != nil {
		now = c.clk.Now()
	}
	ctx, cancel := context.WithDeadline(c.ctx, now.Add(maxTime))
	return context.WithValue(ctx, maxTimeKey{}, maxTime), cancel
}

type maxTimeKey struct{}

// MaxTime returns the time a call allows, if ctx is the context of one
// made by CallContext: the dispatcher times the call out by its own clock
// after that long, whatever clock made ctx's deadline.
func MaxTime(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Value(maxTimeKey{}).(time.Duration)
	return d, ok
}

// PartialMessage reports whether the start of a message is buffered,
// waiting for the rest (policies.MessageState). Messages held back at a
// cap wait on the server, not on the peer, and do not count.
func (c *Conn) PartialMessage() bool {
	return !c.holding && c.Int32StringReceiver.PartialMessage()
}

// Pending reports how many calls were received and are not yet answered
// (policies.MessageState).
func (c *Conn) Pending() int { return c.pending }

// Lost reports whether the connection is gone or being closed: answers
// are no longer sent.
func (c *Conn) Lost() bool { return c.lost || c.closing }

func (c *Conn) unregister() {
	if c.registered {
		c.registered = false
		c.Transport.UnregisterProducer()
	}
}

// PauseProducing is called by the transport when its queued output passes
// the high-water mark: reading pauses until it drains.
func (c *Conn) PauseProducing() {
	c.full = true
	c.throttle()
}

// ResumeProducing is called by the transport when its queued output has
// drained below the low-water mark.
func (c *Conn) ResumeProducing() {
	c.full, c.queued = false, 0
	c.throttle()
}

// StopProducing is called by a transport that stops taking output: the
// connection stops reading for good and closes.
func (c *Conn) StopProducing() {
	c.registered = false // the transport has dropped it
	c.closing = true
	c.Int32StringReceiver.StopProducing()
	c.Transport.LoseConnection()
}

// throttle holds calls back while the output queue is full, the
// connection drains, or the pending or output cap is reached, and takes
// them again once none holds. While calls are held back for a cap the
// transport goes on reading, up to holdBytes, so that a peer that closes
// is noticed and its calls cancelled.
func (c *Conn) throttle() {
	if c.lost || c.closing {
		return
	}
	hold := c.full || c.draining || c.pending >= c.cfg.MaxPending || c.held >= c.cfg.MaxOutput
	pause := c.full || c.draining || hold && c.Buffered() >= holdBytes
	if pause != c.paused {
		c.paused = pause
		if pause {
			c.Transport.PauseProducing()
		} else {
			c.Transport.ResumeProducing()
		}
	}
	if hold == c.holding {
		return
	}
	c.holding = hold
	if hold {
		c.HoldStrings()
		return
	}
	// The messages that arrived meanwhile: their answers are batched as
	// those of a read are.
	was := c.reading
	c.reading = true
	c.ReleaseStrings()
	c.reading = was
	if !was {
		c.flushOut()
	}
}

// DataReceived handles the messages in data, then writes their answers
// that are ready, all at once.
func (c *Conn) DataReceived(data []byte) {
	c.reading = true
	c.Int32StringReceiver.DataReceived(data)
	c.reading = false
	c.flushOut()
	if c.holding {
		c.throttle() // pause the transport once enough waits
	}
}

// StringReceived hands a message to the codec.
func (c *Conn) StringReceived(msg []byte) {
	if c.lost || c.closing {
		return
	}
	c.codec.Message(msg)
}

// LengthLimitExceeded lets the codec answer, then closes the connection:
// the rest of the stream cannot be framed.
func (c *Conn) LengthLimitExceeded(n uint64) {
	c.codec.TooLarge(n)
	c.Fail("message too large: length out of bounds", slog.Uint64("length", n), slog.Int("max", c.cfg.MaxMessage))
}

// Fail closes the connection after a protocol error, logging why; the
// answers already produced still go out.
func (c *Conn) Fail(reason string, attrs ...slog.Attr) {
	if c.lost || c.closing {
		return
	}
	c.log("closing connection: "+reason, attrs...)
	c.HoldStrings()
	c.flushOut()
	c.closing = true
	c.unregister()
	c.Transport.LoseConnection()
}

// SetLogAttrs sets attributes logged with every message about the
// connection, such as its number.
func (c *Conn) SetLogAttrs(attrs ...slog.Attr) { c.attrs = attrs }

func (c *Conn) log(msg string, attrs ...slog.Attr) {
	c.logAt(slog.LevelWarn, msg, attrs...)
}

// logAt is log at level.
func (c *Conn) logAt(level slog.Level, msg string, attrs ...slog.Attr) {
	attrs = append(attrs, c.attrs...)
	if c.Transport != nil {
		attrs = append(attrs, slog.Any("peer", c.Transport.RemoteAddr()))
	}
	c.cfg.Logger.LogAttrs(context.Background(), level, c.cfg.Name+": "+msg, attrs...)
}

// Send sends frame, a whole answer with its framing: now, or at the end of
// the read being handled. frame may be reused once Send returns.
func (c *Conn) Send(frame []byte) {
	if c.lost || c.closing || len(frame) == 0 {
		return
	}
	if c.full {
		// The peer does not read: what is written now waits in the
		// transport's queue, which this bounds.
		if c.queued += len(frame); c.queued > c.cfg.MaxOutput {
			c.Fail("the peer does not read its answers", slog.Int("queued", c.queued), slog.Int("max", c.cfg.MaxOutput))
			return
		}
	}
	if !c.reading {
		_, err := c.Transport.Write(frame)
		c.report(err, 1)
		return
	}
	c.out = append(c.out, frame...)
	c.outN++
	if len(c.out) >= maxBatch {
		c.flushOut()
	}
}

// flushOut writes the answers collected in out.
func (c *Conn) flushOut() {
	if len(c.out) == 0 || c.lost {
		return
	}
	// Write copies what the socket does not take, so out is free again.
	_, err := c.Transport.Write(c.out)
	c.out = Trim(c.out)
	c.report(err, c.outN)
	c.outN = 0
}

// report counts the n answers of a write that failed, in the group's
// Unsent. A peer that resets its connection with calls in flight makes
// every answer after fail until the loss is seen: the first failure is
// logged, at INFO (the peer's doing, not the server's), and the rest of
// the connection's only counted.
func (c *Conn) report(err error, n int) {
	if err == nil || errors.Is(err, internet.ErrConnectionClosed) {
		return
	}
	if c.cfg.Group != nil {
		c.cfg.Group.unsent.Add(uint64(n))
	}
	if !c.sendFailed {
		c.sendFailed = true
		c.logAt(slog.LevelInfo, "cannot send answer", slog.Any("error", err))
	}
}

// Ready sends frame, an answer that is ready. An ordered answer goes out
// after the ordered answers awaited before it: it is held back, copied,
// until they are sent.
func (c *Conn) Ready(frame []byte, ordered bool) {
	if !ordered || len(c.ordered) == 0 {
		c.Send(frame)
		return
	}
	s := &slot{}
	c.ordered = append(c.ordered, s)
	c.pending++
	c.fill(s, frame)
}

// Await counts d, a call's Deferred, as pending until it fires, and then
// sends answer(result), unless answer is nil or the connection is lost.
// An ordered answer goes out after those awaited or held before it. If the
// connection is lost first, d is cancelled.
func (c *Conn) Await(d *deferred.Deferred, ordered bool, answer func(r any) []byte) {
	var s *slot
	if ordered && answer != nil {
		s = &slot{}
		c.ordered = append(c.ordered, s)
	}
	if c.calls == nil {
		c.calls = make(map[*deferred.Deferred]struct{})
	}
	c.calls[d] = struct{}{}
	c.pending++
	d.AddBoth(func(r any) (any, error) {
		delete(c.calls, d)
		if c.lost {
			return nil, nil
		}
		var frame []byte
		if answer != nil {
			frame = answer(r)
		}
		if s != nil {
			c.fill(s, frame) // pending until sent
		} else {
			c.pending--
			c.Send(frame)
			c.settle()
		}
		return nil, nil
	})
	c.throttle()
}

// fill makes s ready with a copy of frame and sends the ordered answers
// that are ready.
func (c *Conn) fill(s *slot, frame []byte) {
	s.frame, s.done = append([]byte(nil), frame...), true
	c.held += len(frame)
	if c.held > c.cfg.MaxOutput && !c.ordered[0].done {
		c.Fail("answers held back for an earlier call passed the output cap",
			slog.Int("held", c.held), slog.Int("max", c.cfg.MaxOutput))
		return
	}
	// The answers freed at once go out in one write.
	was := c.reading
	c.reading = true
	n := 0
	for n < len(c.ordered) && c.ordered[n].done {
		c.held -= len(c.ordered[n].frame)
		c.Send(c.ordered[n].frame)
		n++
	}
	c.reading = was
	if !was {
		c.flushOut()
	}
	if c.lost {
		return
	}
	clear(c.ordered[copy(c.ordered, c.ordered[n:]):])
	c.ordered = c.ordered[:len(c.ordered)-n]
	c.pending -= n
	c.settle()
}

// settle takes calls again, or closes a drained connection, once a call
// has ended.
func (c *Conn) settle() {
	c.throttle()
	c.closeIfDrained()
}

// Drain stops taking calls and closes the connection once every pending
// call is answered (see rpc.Server.Drain).
func (c *Conn) Drain() {
	if c.lost || c.closing || c.draining {
		return
	}
	c.draining = true
	c.throttle()
	c.closeIfDrained()
}

// Abort closes the connection at once; ConnectionLost then cancels its
// pending calls.
func (c *Conn) Abort() {
	if !c.lost {
		c.closing = true
		c.Transport.AbortConnection()
	}
}

func (c *Conn) closeIfDrained() {
	if !c.draining || c.closing || c.lost || c.pending > 0 {
		return
	}
	c.flushOut()
	c.closing = true
	c.unregister()
	c.Transport.LoseConnection()
}

// Trim returns b emptied for reuse, or nil if a big message grew it past
// what a connection keeps between messages.
func Trim(b []byte) []byte {
	if cap(b) > retain {
		return nil
	}
	return b[:0]
}
