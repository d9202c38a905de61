package rpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
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
	// CallContext numbers its calls on the caller's goroutine, where it
	// encodes them, with negative ids, apart from the loop's.
	ctxID atomic.Int64
	// waiting holds CallContext's calls that were written, by id.
	waiting map[int64]*ctxCall
	dial    *deferred.Deferred // fires once, with the first connection
	closed  bool

	// CallContext's calls wait in batch until the loop writes them all with
	// one write: only the caller that makes batch non-empty posts flush, so
	// calls made together cost one CallFromThread and one system call.
	mu    sync.Mutex
	batch []*ctxCall
	// spare is the slice of the batch flushed last, given to the callers
	// at the next flush; out is flush's write buffer. Both are the loop's.
	spare   []*ctxCall
	out     []byte
	flushFn func() // flush, bound once: a method value allocates
	calls   sync.Pool
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
	c := &Client{loop: loop, maxSize: DefaultMaxMessageSize, maxDepth: DefaultMaxDepth, pending: make(map[int64]*deferred.Deferred), waiting: make(map[int64]*ctxCall), dial: deferred.New()}
	c.flushFn = c.flush
	c.calls.New = func() any {
		k := &ctxCall{done: make(chan struct{}, 1)}
		k.onTimeout = func() { c.timeOut(k) }
		return k
	}
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
	m.ID = int64ID(id)
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
//
// The call is encoded on the caller's goroutine; calls made while the loop
// has not yet written the previous ones go out together, with one write.
func (c *Client) CallContext(ctx context.Context, name string, args []any, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := c.calls.Get().(*ctxCall)
	if err := k.encode(name, args, -c.ctxID.Add(1)); err != nil {
		c.recycle(k)
		return err
	}
	c.mu.Lock()
	c.batch = append(c.batch, k)
	first := len(c.batch) == 1
	c.mu.Unlock()
	if first {
		c.loop.CallFromThread(c.flushFn)
	}
	select {
	case <-k.done:
	case <-ctx.Done():
		if !k.state.CompareAndSwap(callQueued, callCancelled) {
			// Written already: forget it on the loop, which may be
			// answering it right now; k is not recycled either way.
			c.loop.CallFromThread(func() { c.forget(k) })
		}
		return ctx.Err()
	}
	err := k.err
	if err == nil && result != nil {
		err = k.reply.Unmarshal(result)
	}
	c.recycle(k)
	return err
}

// The states of a call: queued in a batch, then written or cancelled,
// whichever comes first.
const (
	callQueued int32 = iota
	callWritten
	callCancelled
)

// maxRecycled is the largest buffer kept for reuse, so that one big call
// does not pin its memory.
const maxRecycled = 64 << 10

// ctxCall is one call of CallContext. The caller owns it until it is queued,
// the loop from then until it signals done, the caller again after that.
type ctxCall struct {
	id    int64
	name  string
	frame []byte // the call, with its length prefix
	state atomic.Int32
	timer clock.DelayedCall
	// onTimeout is the time-out's function, bound to the call once.
	onTimeout func()
	reply     bson.RawValue
	err       error
	done      chan struct{}
}

// encode numbers the call id and encodes it into its frame.
func (k *ctxCall) encode(name string, args []any, id int64) error {
	if args == nil {
		args = []any{}
	}
	_, raw, err := bson.MarshalValue(args)
	if err != nil {
		return fmt.Errorf("rpc: cannot encode the arguments of %s: %w", name, err)
	}
	k.id, k.name = id, name
	b, err := AppendMessage(append(k.frame[:0], 0, 0, 0, 0), &Message{Kind: KindCall, Func: name, Args: raw, ID: int64ID(id)})
	if err != nil {
		return err
	}
	if n := uint64(len(b) - 4); n > math.MaxUint32 {
		return fmt.Errorf("%w: %d bytes, at most %d", basic.ErrStringTooLong, n, uint64(math.MaxUint32))
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	k.frame = b
	return nil
}

// finish gives the call its outcome and hands it back to its caller.
func (k *ctxCall) finish(reply bson.RawValue, err error) {
	if k.timer != nil {
		_ = k.timer.Cancel()
		k.timer = nil
	}
	k.reply, k.err = reply, err
	k.done <- struct{}{}
}

// recycle returns a call its caller is done with to the pool.
func (c *Client) recycle(k *ctxCall) {
	k.name, k.reply, k.err = "", bson.RawValue{}, nil
	if cap(k.frame) > maxRecycled {
		k.frame = nil
	}
	k.state.Store(callQueued)
	c.calls.Put(k)
}

// flush writes the calls of the batch, on the loop.
func (c *Client) flush() {
	c.mu.Lock()
	batch := c.batch
	c.batch = c.spare[:0]
	c.mu.Unlock()
	var err error
	switch {
	case c.closed:
		err = ErrClientClosed
	case c.proto == nil:
		err = ErrNotConnected
	}
	out := c.out[:0]
	for _, k := range batch {
		if !k.state.CompareAndSwap(callQueued, callWritten) {
			continue // cancelled while queued
		}
		if err != nil {
			k.finish(bson.RawValue{}, err)
			continue
		}
		c.waiting[k.id] = k
		if c.timeout > 0 && c.clk != nil {
			k.timer = c.clk.CallLater(c.timeout, k.onTimeout)
		}
		out = append(out, k.frame...)
	}
	if len(out) > 0 {
		if _, werr := c.proto.Transport.Write(out); werr != nil {
			for _, k := range batch {
				if c.waiting[k.id] == k {
					delete(c.waiting, k.id)
					k.finish(bson.RawValue{}, werr)
				}
			}
		}
	}
	if cap(out) <= maxRecycled {
		c.out = out
	} else {
		c.out = nil
	}
	clear(batch)
	c.spare = batch
}

// timeOut fails a written call that got no answer in time, on the loop.
func (c *Client) timeOut(k *ctxCall) {
	if c.waiting[k.id] != k {
		return
	}
	delete(c.waiting, k.id)
	k.timer = nil
	k.finish(bson.RawValue{}, errorf(Timeout, "no answer to %s within %v", k.name, c.timeout))
}

// forget drops a written call whose caller gave up, on the loop; its
// answer, if it comes, is then dropped.
func (c *Client) forget(k *ctxCall) {
	if c.waiting[k.id] != k {
		return
	}
	delete(c.waiting, k.id)
	if k.timer != nil {
		_ = k.timer.Cancel()
	}
}

// int64ID is id as a BSON value.
func int64ID(id int64) bson.RawValue {
	return bson.RawValue{Type: bson.TypeInt64, Value: binary.LittleEndian.AppendUint64(nil, uint64(id))}
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
	pending, waiting := c.pending, c.waiting
	c.pending, c.waiting = make(map[int64]*deferred.Deferred), make(map[int64]*ctxCall)
	for _, d := range pending {
		d.Errback(err)
	}
	for _, k := range waiting {
		k.finish(bson.RawValue{}, err)
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
	if !ok {
		return // not ours
	}
	c := p.c
	if k := c.waiting[id]; k != nil {
		delete(c.waiting, id)
		v, err := c.outcome(m)
		reply, isReply := v.(bson.RawValue)
		if err == nil && !isReply {
			err = errorf(BadMessage, "a %v message is not an answer to a call", m.Kind)
		}
		k.finish(reply, err)
		return
	}
	d := c.pending[id]
	if d == nil {
		return // a cancelled call's answer, or not ours
	}
	delete(c.pending, id)
	if v, err := c.outcome(m); err != nil {
		d.Errback(err)
	} else {
		d.Callback(v)
	}
}

// outcome is the result an answer carries, or its error.
func (c *Client) outcome(m Message) (any, error) {
	switch m.Kind {
	case KindReply:
		if err := checkDepth(bsoncore.Type(m.Value.Type), m.Value.Value, c.maxDepth); err != nil {
			return nil, errorf(BadMessage, "reply: %v", err)
		}
		return bson.RawValue{Type: m.Value.Type, Value: bytes.Clone(m.Value.Value)}, nil
	case KindError:
		return nil, m.Err
	case KindInfo:
		if err := checkDepth(bsoncore.TypeEmbeddedDocument, m.Info, c.maxDepth); err != nil {
			return nil, errorf(BadMessage, "info: %v", err)
		}
		var info Info
		if err := bson.Unmarshal(m.Info, &info); err != nil {
			return nil, errorf(BadMessage, "cannot decode info: %v", err)
		}
		return info, nil
	default:
		return nil, errorf(BadMessage, "a %v message is not an answer", m.Kind)
	}
}
