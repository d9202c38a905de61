package rpc

import (
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
	// (while it waits to reconnect).
	ErrNotConnected = errors.New("rpc: client is not connected")
	// ErrClientClosed fails calls made after Close, and those pending then.
	ErrClientClosed = errors.New("rpc: client is closed")
)

// DefaultMaxReconnectDelay caps the delay between two attempts to
// reconnect, unless WithReconnectDelay says otherwise.
const DefaultMaxReconnectDelay = 30 * time.Second

// Client calls the functions of a Server over one framed connection,
// multiplexing the calls with ids, and reconnects with a capped back-off
// when the connection drops.
//
// A client made by Dial lives on a loop shared by all such clients: its
// Call, Info and Close may be called from any goroutine. A client made by
// DialOn lives on the caller's loop: CallRemote, InfoRemote and Close are
// called on that loop, Call and Info from any other goroutine.
type Client struct {
	loop *reactor.Reactor
	// shared is set for a client of the shared loop, which Close releases.
	shared   bool
	clk      clock.Clock
	timeout  time.Duration
	maxSize  int
	maxDepth int
	// minDelay and maxDelay bound the reconnection back-off.
	minDelay, maxDelay time.Duration
	rf                 *internet.ReconnectingClientFactory
	conn               *internet.StreamConnector
	proto              *clientProtocol
	// nextID numbers CallRemote's calls; Call's are numbered apart, with
	// negative ids (see ctxID).
	nextID  int64
	pending map[int64]*remoteCall
	dial    *deferred.Deferred // fires once, with the first connection
	closed  bool
	// onConnect, if set, runs on the loop after each connection is made
	// (tests wait for reconnections with it).
	onConnect func()

	callState // Call's calls, in call.go
}

// remoteCall is one call of CallRemote or InfoRemote, pending its answer.
type remoteCall struct {
	d    *deferred.Deferred
	name string
}

// A ClientOption configures a Client.
type ClientOption func(*Client)

// WithTimeout sets the default time-out of calls: a call that gets no
// answer within d fails with a Timeout *Error, and the server is told (as
// maxTimeMS) to give up on it then too. A call's context may set an
// earlier deadline, never a later one. Zero, the default, means no limit
// but the context's.
func WithTimeout(d time.Duration) ClientOption { return func(c *Client) { c.timeout = d } }

// WithClientClock sets the clock of call time-outs and reconnection delays
// instead of the loop.
func WithClientClock(clk clock.Clock) ClientOption { return func(c *Client) { c.clk = clk } }

// WithClientMaxMessageSize sets the longest answer accepted; the default is
// DefaultMaxMessageSize. A longer one closes the connection, as the
// framing cannot be followed past it.
func WithClientMaxMessageSize(n int) ClientOption { return func(c *Client) { c.maxSize = n } }

// WithClientMaxDepth sets how deeply documents and arrays may nest in an
// answer (see DefaultMaxDepth); a deeper one fails its call with
// BadMessage, so that decoding it cannot exhaust the stack.
func WithClientMaxDepth(n int) ClientOption { return func(c *Client) { c.maxDepth = n } }

// WithReconnectDelay sets the back-off of reconnections: the first retry
// comes after about initial (internet.DefaultInitialDelay by default), each
// next one after e times longer, capped at max (DefaultMaxReconnectDelay by
// default), with internet.ReconnectingClientFactory's jitter. Values below
// or equal to zero keep the default.
func WithReconnectDelay(initial, max time.Duration) ClientOption {
	return func(c *Client) {
		if initial > 0 {
			c.minDelay = initial
		}
		if max > 0 {
			c.maxDelay = max
		}
	}
}

func newClient(loop *reactor.Reactor, opts []ClientOption) *Client {
	c := &Client{
		loop:     loop,
		maxSize:  DefaultMaxMessageSize,
		maxDepth: DefaultMaxDepth,
		minDelay: internet.DefaultInitialDelay,
		maxDelay: DefaultMaxReconnectDelay,
		pending:  make(map[int64]*remoteCall),
		dial:     deferred.New(),
	}
	c.initCalls()
	if loop != nil {
		c.clk = loop
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// DialOn connects a client to addr ("host:port") over TCP from loop, and
// returns a Deferred that fires with the *Client once it is connected, or
// fails with the error of the first attempt (the client then stops
// trying). Once connected, the client reconnects whenever the connection
// drops. Call it on loop; Dial is the same from any goroutine, on a loop of
// its own.
func DialOn(loop *reactor.Reactor, addr string, opts ...ClientOption) *deferred.Deferred {
	c := newClient(loop, opts)
	c.connect(addr)
	return c.dial
}

// connect starts connecting to addr, on the client's loop.
func (c *Client) connect(addr string) {
	c.rf = internet.NewReconnectingClientFactory(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return c.newProtocol()
	}))
	c.rf.InitialDelay, c.rf.MaxDelay = c.minDelay, c.maxDelay
	c.rf.ResetDelay()
	if c.clk != clock.Clock(c.loop) {
		c.rf.Clock = c.clk
	}
	c.conn = internet.ConnectTCP(c.loop, addr, &dialFactory{c.rf, c})
}

// dialFactory gives up on the first failed attempt of a dial, and
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

// CallRemote calls the function name with args, on the client's loop, and
// returns a Deferred that fires with the reply as a bson.RawValue (decode
// it with its Unmarshal method), or fails with an *Error for an error
// reply (errors.Is matches the sentinels such as ErrNoSuchFunction),
// ErrConnectionLost, ErrNotConnected or ErrClientClosed. The client's
// time-out (WithTimeout) applies. Cancelling the Deferred forgets the call;
// its answer is then dropped.
func (c *Client) CallRemote(name string, args ...any) *deferred.Deferred {
	return c.send(name, args, KindCall)
}

// InfoRemote asks the server about itself, on the client's loop; the
// Deferred fires with an Info.
func (c *Client) InfoRemote() *deferred.Deferred {
	return c.send("info", nil, KindInfo)
}

// send writes a call or an info request and returns its Deferred.
func (c *Client) send(name string, args []any, kind Kind) *deferred.Deferred {
	switch {
	case c.closed:
		return deferred.Fail(fmt.Errorf("%s: %w", name, ErrClientClosed))
	case c.proto == nil:
		return deferred.Fail(fmt.Errorf("%s: %w", name, ErrNotConnected))
	}
	c.nextID++
	id := c.nextID
	var frame []byte
	var err error
	if kind == KindInfo {
		frame, err = appendFrame(nil, &Message{Kind: KindInfo, ID: int64ID(id)})
	} else {
		frame, err = appendCallFrame(nil, name, args, id, c.timeout)
	}
	if err == nil {
		_, err = c.proto.Transport.Write(frame)
	}
	if err != nil {
		return deferred.Fail(err)
	}
	d := deferred.NewWithCanceller(func(*deferred.Deferred) { delete(c.pending, id) })
	c.pending[id] = &remoteCall{d: d, name: name}
	if c.timeout > 0 && c.clk != nil {
		d.AddTimeout(c.timeout, c.clk, func(result any, timeout time.Duration) (any, error) {
			return nil, timeoutError(name, timeout)
		})
	}
	return d
}

// timeoutError is the error of a call that got no answer within d.
func timeoutError(name string, d time.Duration) error {
	return errorf(Timeout, "no answer to %s within %v", name, d)
}

// Close stops reconnecting, closes the connection and fails the pending
// calls with ErrClientClosed. A client made by Dial may be closed from any
// goroutine, and Close returns once it is closed; one made by DialOn is
// closed on its loop.
func (c *Client) Close() {
	if c.shared {
		c.closeShared()
		return
	}
	c.closeOnLoop()
}

// closeOnLoop closes the client, on its loop.
func (c *Client) closeOnLoop() {
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

// failPending fails every pending call with err.
func (c *Client) failPending(err error) {
	pending, waiting := c.pending, c.waiting
	c.pending, c.waiting = make(map[int64]*remoteCall), make(map[int64]*ctxCall)
	for _, r := range pending {
		r.d.Errback(fmt.Errorf("%s: %w", r.name, err))
	}
	for _, k := range waiting {
		k.finish(fmt.Errorf("%s: %w", k.name, err))
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
	if c.onConnect != nil {
		c.onConnect()
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

// StringReceived matches an answer with its call. An answer that cannot be
// read fails the call it names, if its id can be read, and nothing else:
// the connection goes on.
func (p *clientProtocol) StringReceived(b []byte) {
	c := p.c
	m, err := ParseMessage(b)
	if err != nil {
		id, ok := bsoncore.Document(b).Lookup("id").AsInt64OK()
		if ok {
			c.answer(id, Message{}, err)
		}
		return
	}
	if id, ok := m.ID.AsInt64OK(); ok {
		c.answer(id, m, nil)
	}
}

// answer finishes the call id, if it is still waiting, with m, or err if m
// could not be read. An answer to no call waiting (one that timed out, was
// cancelled, or never was) is dropped.
func (c *Client) answer(id int64, m Message, err error) {
	if k := c.waiting[id]; k != nil {
		delete(c.waiting, id)
		if err == nil {
			err = c.reply(m, &k.reply)
		}
		k.finish(err)
		if c.loop != nil {
			// Its caller may call again at once, through the loop: let it
			// run before the loop sleeps.
			c.loop.YieldBeforeWait()
		}
		return
	}
	r := c.pending[id]
	if r == nil {
		return
	}
	delete(c.pending, id)
	var v any
	if err == nil {
		v, err = c.outcome(m)
	}
	if err != nil {
		r.d.Errback(err)
	} else {
		r.d.Callback(v)
	}
}

// reply copies the result of the reply m into dst, reusing dst's bytes, or
// returns the error m carries.
func (c *Client) reply(m Message, dst *bson.RawValue) error {
	switch m.Kind {
	case KindReply:
		if err := checkDepth(bsoncore.Type(m.Value.Type), m.Value.Value, c.maxDepth); err != nil {
			return errorf(BadMessage, "reply: %v", err)
		}
		dst.Type, dst.Value = m.Value.Type, append(dst.Value[:0], m.Value.Value...)
		return nil
	case KindError:
		return m.Err
	default:
		return errorf(BadMessage, "a %v message is not an answer to a call", m.Kind)
	}
}

// outcome is the result an answer carries, or its error.
func (c *Client) outcome(m Message) (any, error) {
	if m.Kind != KindInfo {
		var v bson.RawValue
		err := c.reply(m, &v)
		return v, err
	}
	if err := checkDepth(bsoncore.TypeEmbeddedDocument, m.Info, c.maxDepth); err != nil {
		return nil, errorf(BadMessage, "info: %v", err)
	}
	var info Info
	if err := bson.Unmarshal(m.Info, &info); err != nil {
		return nil, errorf(BadMessage, "cannot decode info: %v", err)
	}
	return info, nil
}
