package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/reactor"
)

var (
	// ErrConnectionLost fails the calls pending when the client's connection
	// drops; the reason is wrapped with it.
	ErrConnectionLost = errors.New("rpc: connection lost before the answer")
	// ErrNotConnected fails calls made while the client is not connected
	// (before the first connection, or while it reconnects).
	ErrNotConnected = errors.New("rpc: client is not connected")
	// ErrClientClosed fails calls made after Close, and those pending then.
	ErrClientClosed = errors.New("rpc: client is closed")
)

// Client calls the functions of a Server over one framed connection,
// multiplexing the calls with ids, and reconnects with a back-off when the
// connection drops. Its methods, except CallContext, must be called on its
// loop.
type Client struct {
	loop     *reactor.Reactor
	clk      clock.Clock
	timeout  time.Duration
	maxSize  int
	maxDepth int
	rf       *internet.ReconnectingClientFactory
	conn     *internet.StreamConnector
	proto    *clientProtocol
	nextID   int64
	pending  map[int64]*deferred.Deferred
	dial     *deferred.Deferred // fires once, with the first connection
	closed   bool
}

// A ClientOption configures a Client.
type ClientOption func(*Client)

// WithTimeout fails each call that gets no answer within d with a Timeout
// *Error. Zero, the default, means no limit.
func WithTimeout(d time.Duration) ClientOption { return func(c *Client) { c.timeout = d } }

// WithClientClock sets the clock of call time-outs instead of the loop.
func WithClientClock(clk clock.Clock) ClientOption { return func(c *Client) { c.clk = clk } }

// WithClientMaxMessageSize sets the longest answer accepted; the default is
// DefaultMaxMessageSize. A longer one closes the connection.
func WithClientMaxMessageSize(n int) ClientOption { return func(c *Client) { c.maxSize = n } }

// WithClientMaxDepth sets how deeply documents and arrays may nest in an
// answer (see DefaultMaxDepth); a deeper one fails its call with
// BadMessage, so that decoding it cannot exhaust the stack.
func WithClientMaxDepth(n int) ClientOption { return func(c *Client) { c.maxDepth = n } }

func newClient(loop *reactor.Reactor, opts []ClientOption) *Client {
	c := &Client{loop: loop, maxSize: DefaultMaxMessageSize, maxDepth: DefaultMaxDepth, pending: make(map[int64]*deferred.Deferred), dial: deferred.New()}
	if loop != nil {
		c.clk = loop
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewClient returns a client that connects to addr ("host:port") over TCP
// and reconnects, with internet.ReconnectingClientFactory's back-off,
// whenever the connection fails or drops. Calls made while it is not
// connected fail with ErrNotConnected. Call it on loop.
func NewClient(loop *reactor.Reactor, addr string, opts ...ClientOption) *Client {
	c := newClient(loop, opts)
	c.rf = internet.NewReconnectingClientFactory(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return c.newProtocol()
	}))
	c.conn = internet.ConnectTCP(loop, addr, c.rf)
	return c
}

// Dial connects a client to addr and returns a Deferred that fires with the
// *Client once it is connected, or fails with the error of the first
// attempt (the client then stops trying). Call it on loop.
func Dial(loop *reactor.Reactor, addr string, opts ...ClientOption) *deferred.Deferred {
	c := newClient(loop, opts)
	c.rf = internet.NewReconnectingClientFactory(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return c.newProtocol()
	}))
	c.conn = internet.ConnectTCP(loop, addr, &dialFactory{c.rf, c})
	return c.dial
}

// dialFactory gives up on the first failed attempt of a Dial, and
// reconnects like its ReconnectingClientFactory once connected.
type dialFactory struct {
	*internet.ReconnectingClientFactory
	c *Client
}

func (f *dialFactory) ClientConnectionFailed(conn internet.Connector, reason error) {
	if !f.c.dial.Called() {
		f.c.closed = true
		f.c.dial.Errback(reason)
		return
	}
	f.ReconnectingClientFactory.ClientConnectionFailed(conn, reason)
}

func (c *Client) newProtocol() *clientProtocol {
	p := &clientProtocol{c: c}
	p.Handler = p
	p.MaxLength = c.maxSize
	return p
}

// Call calls the function name with args and returns a Deferred that fires
// with the reply as a bson.RawValue (decode it with its Unmarshal method),
// or fails with an *Error for an error reply (errors.Is matches the
// sentinels such as ErrNoSuchFunction), ErrConnectionLost,
// ErrNotConnected or ErrClientClosed. Cancelling the Deferred forgets the
// call; its answer is then dropped.
func (c *Client) Call(name string, args ...any) *deferred.Deferred {
	if args == nil {
		args = []any{}
	}
	_, raw, err := bson.MarshalValue(args)
	if err != nil {
		return deferred.Fail(fmt.Errorf("rpc: cannot encode the arguments of %s: %w", name, err))
	}
	return c.send(&Message{Kind: KindCall, Func: name, Args: raw})
}

// Info asks the server about itself; the Deferred fires with an Info.
func (c *Client) Info() *deferred.Deferred {
	return c.send(&Message{Kind: KindInfo})
}

func (c *Client) send(m *Message) *deferred.Deferred {
	switch {
	case c.closed:
		return deferred.Fail(ErrClientClosed)
	case c.proto == nil:
		return deferred.Fail(ErrNotConnected)
	}
	c.nextID++
	id := c.nextID
	_, idv, _ := bson.MarshalValue(id)
	m.ID = bson.RawValue{Type: bson.TypeInt64, Value: idv}
	frame, err := AppendMessage(nil, m)
	if err == nil {
		err = c.proto.SendString(frame)
	}
	if err != nil {
		return deferred.Fail(err)
	}
	d := deferred.NewWithCanceller(func(*deferred.Deferred) { delete(c.pending, id) })
	c.pending[id] = d
	if c.timeout > 0 && c.clk != nil {
		name := m.Func
		d.AddTimeout(c.timeout, c.clk, func(result any, timeout time.Duration) (any, error) {
			return nil, errorf(Timeout, "no answer to %s within %v", name, timeout)
		})
	}
	return d
}

// CallContext calls name with args from any goroutine but the loop's, waits
// for the answer and decodes it into result (a pointer, or nil to drop it).
// When ctx is done first, the call is cancelled and ctx's error returned.
func (c *Client) CallContext(ctx context.Context, name string, args []any, result any) error {
	type outcome struct {
		v   any
		err error
	}
	done := make(chan outcome, 1)
	var d *deferred.Deferred
	c.loop.CallFromThread(func() {
		d = c.Call(name, args...)
		d.AddBoth(func(r any) (any, error) {
			v, err := split(r)
			done <- outcome{v, err}
			return nil, nil
		})
	})
	select {
	case o := <-done:
		if o.err != nil || result == nil {
			return unwrapFailure(o.err)
		}
		return o.v.(bson.RawValue).Unmarshal(result)
	case <-ctx.Done():
		c.loop.CallFromThread(func() { d.Cancel() })
		return ctx.Err()
	}
}

// unwrapFailure returns the error a *deferred.Failure carries.
func unwrapFailure(err error) error {
	if f, ok := err.(*deferred.Failure); ok {
		return f.Value()
	}
	return err
}

// Close stops reconnecting, closes the connection and fails the pending
// calls with ErrClientClosed.
func (c *Client) Close() {
	if c.closed {
		return
	}
	c.closed = true
	c.failPending(ErrClientClosed)
	if c.rf != nil {
		c.rf.StopTrying()
	}
	if c.conn != nil {
		c.conn.Disconnect()
	}
}

func (c *Client) failPending(err error) {
	pending := c.pending
	c.pending = make(map[int64]*deferred.Deferred)
	for _, d := range pending {
		d.Errback(err)
	}
}

// clientProtocol is the client's connection.
type clientProtocol struct {
	basic.Int32StringReceiver
	c *Client
}

func (p *clientProtocol) ConnectionMade(t internet.Transport) {
	p.Int32StringReceiver.ConnectionMade(t)
	c := p.c
	if c.closed {
		t.LoseConnection()
		return
	}
	c.proto = p
	if c.rf != nil {
		c.rf.ResetDelay()
	}
	if !c.dial.Called() {
		c.dial.Callback(c)
	}
}

func (p *clientProtocol) ConnectionLost(reason error) {
	c := p.c
	if c.proto != p {
		return
	}
	c.proto = nil
	c.failPending(fmt.Errorf("%w: %w", ErrConnectionLost, reason))
}

func (p *clientProtocol) StringReceived(b []byte) {
	m, err := ParseMessage(b)
	if err != nil {
		return // not an answer to anything we can name
	}
	id, ok := m.ID.AsInt64OK()
	d := p.c.pending[id]
	if !ok || d == nil {
		return // a cancelled call's answer, or not ours
	}
	delete(p.c.pending, id)
	switch m.Kind {
	case KindReply:
		if err := checkDepth(bsoncore.Type(m.Value.Type), m.Value.Value, p.c.maxDepth); err != nil {
			d.Errback(errorf(BadMessage, "reply: %v", err))
			return
		}
		d.Callback(bson.RawValue{Type: m.Value.Type, Value: bytes.Clone(m.Value.Value)})
	case KindError:
		d.Errback(m.Err)
	case KindInfo:
		if err := checkDepth(bsoncore.TypeEmbeddedDocument, m.Info, p.c.maxDepth); err != nil {
			d.Errback(errorf(BadMessage, "info: %v", err))
			return
		}
		var info Info
		if err := bson.Unmarshal(m.Info, &info); err != nil {
			d.Errback(errorf(BadMessage, "cannot decode info: %v", err))
			return
		}
		d.Callback(info)
	default:
		d.Errback(errorf(BadMessage, "a %v message is not an answer", m.Kind))
	}
}
