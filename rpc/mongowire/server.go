package mongowire

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/session"
)

// A Dispatcher runs the functions the server exposes: *rpc.Server is one.
type Dispatcher interface {
	// Dispatch calls the function name with the positional arguments args
	// and returns a Deferred that fires, on the connection's loop, with the
	// result or an error, an *rpc.Error naming its kind (any other error is
	// a HandlerError). args is valid only during the call. ctx is cancelled
	// when the connection is lost; clk is the connection's loop, to time
	// calls out, or nil on a transport without one.
	Dispatch(ctx context.Context, clk clock.Clock, name string, args bson.RawArray) *deferred.Deferred
}

// DefaultMaxMessageSize is the largest message a server accepts unless told
// otherwise, and the maxMessageSizeBytes it advertises: MongoDB's own limit,
// rpc.DefaultMaxWireMessage.
const DefaultMaxMessageSize = rpc.DefaultMaxWireMessage

// DefaultMaxPending is how many calls a connection has outstanding, their
// result awaited, before it stops reading until one of them finishes.
const DefaultMaxPending = rpc.DefaultMaxPending

// maxBSONObjectSize is the largest document the server advertises and sends:
// MongoDB's 16 MiB.
const maxBSONObjectSize = 16 * 1024 * 1024

// A Server answers the MongoDB wire protocol on each connection it builds a
// protocol for: it is an internet.Factory, safe for use from several loops.
//
// A connection stops reading, and so slows its client down, while its
// transport's queued output is past the high-water mark (the protocol is
// the transport's streaming producer) and while the maximum of calls is
// outstanding (see WithMaxPending); it reads again once neither holds.
type Server struct {
	d              Dispatcher
	maxMessageSize int32
	maxPending     int
	logger         *slog.Logger
	now            func() time.Time
	lastConnID     atomic.Int32
	stats          serverStats // status.go
	// group is the connection group of the rpc.Server dispatching, if d is
	// one, so that its Drain drains these connections too.
	group *session.Group
}

var _ internet.Factory = (*Server)(nil)

// An Option configures a Server.
type Option func(*Server)

// WithLimits sets the limits of rpc.Limits that apply to the wire
// protocol: MaxWireMessage and MaxPending (zero fields keep their
// defaults). A server whose Dispatcher is an *rpc.Server has that server's
// limits unless told otherwise.
func WithLimits(l rpc.Limits) Option {
	return func(s *Server) {
		WithMaxMessageSize(l.MaxWireMessage)(s)
		WithMaxPending(l.MaxPending)(s)
	}
}

// WithMaxMessageSize sets the largest message accepted, header included, and
// the maxMessageSizeBytes advertised in the handshake. A connection that
// announces a longer message is closed. Values outside 16 bytes to 2 GiB are
// ignored.
func WithMaxMessageSize(n int) Option {
	return func(s *Server) {
		if n >= headerLen && n <= 1<<31-1 {
			s.maxMessageSize = int32(n)
		}
	}
}

// WithMaxPending sets how many calls a connection has outstanding before it
// pauses reading (see DefaultMaxPending). Values below 1 are ignored.
func WithMaxPending(n int) Option {
	return func(s *Server) {
		if n >= 1 {
			s.maxPending = n
		}
	}
}

// WithLogger sets where the server logs why it closed a connection;
// slog.Default() if not set.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.logger = l }
}

// NewServer returns a server that exposes the functions of d. If d is an
// *rpc.Server, the server has its limits (see WithLimits) and its Drain
// drains this server's connections too.
func NewServer(d Dispatcher, opts ...Option) *Server {
	s := &Server{d: d, maxMessageSize: DefaultMaxMessageSize, maxPending: DefaultMaxPending, now: time.Now}
	if l, ok := d.(interface{ Limits() rpc.Limits }); ok {
		WithLimits(l.Limits())(s)
	}
	s.group = session.GroupOf(d)
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.stats.started = s.now()
	return s
}

// LogPrefix names the server in logs: "MongoWireServer starting on 27017".
func (s *Server) LogPrefix() string { return "MongoWireServer" }

// BuildProtocol returns the protocol for a new connection. Each connection
// gets its own connectionId, counting from 1.
func (s *Server) BuildProtocol(addr net.Addr) internet.Protocol {
	return &conn{s: s, id: s.lastConnID.Add(1)}
}

// conn is the protocol of one connection.
type conn struct {
	s      *Server
	t      internet.Transport
	id     int32
	ctx    context.Context
	cancel context.CancelFunc
	clk    clock.Clock
	// pending holds the start of a message split across reads, and the
	// messages that arrived while reading was paused.
	pending []byte
	// out is the reply being encoded, reused from one reply to the next;
	// enc writes documents into it.
	out bytes.Buffer
	enc *bson.Encoder
	// buf holds the replies of calls, appended directly, reused likewise.
	buf []byte
	// lastRequestID numbers the replies.
	lastRequestID int32
	// waiting counts the calls whose Deferred has not fired.
	waiting int
	// full is set while the transport's queued output is past its
	// high-water mark, between its PauseProducing and ResumeProducing.
	full bool
	// paused is set while reading from the transport is paused.
	paused bool
	// busy is set while DataReceived handles messages.
	busy bool
	// registered is set while the conn is the transport's producer.
	registered bool
	closed     bool
	// draining is set once Drain was called: reading stops, and the
	// connection closes when nothing is outstanding.
	draining bool
}

func (c *conn) ConnectionMade(t internet.Transport) {
	c.t = t
	c.s.stats.opened()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var loop *reactor.Reactor
	if l, ok := t.(internet.Looper); ok {
		loop = l.Loop()
		c.clk = loop
	}
	c.registered = true // first: on a closed transport, RegisterProducer stops c at once
	if err := t.RegisterProducer(c, true); err != nil {
		c.registered = false
		c.s.logger.Warn("mongowire: replies go out without flow control", "connectionId", c.id, "peer", t.RemoteAddr().String(), "error", err)
	}
	if c.s.group != nil && c.s.group.Add(c, loop) {
		c.Drain()
	}
}

// Drain stops reading and closes the connection once every outstanding
// call is answered (see rpc.Server.Drain).
func (c *conn) Drain() {
	if c.closed || c.draining {
		return
	}
	c.draining = true
	c.throttle()
	c.closeIfDrained()
}

// Abort closes the connection at once (see rpc.Server.Drain).
func (c *conn) Abort() {
	if !c.closed {
		c.t.AbortConnection()
	}
}

// closeIfDrained closes a draining connection once nothing is outstanding.
func (c *conn) closeIfDrained() {
	if !c.draining || c.closed || c.waiting > 0 {
		return
	}
	c.closed = true
	c.pending = nil
	c.unregister()
	c.t.LoseConnection()
}

func (c *conn) ConnectionLost(reason error) {
	c.s.stats.closed()
	if c.s.group != nil {
		c.s.group.Remove(c)
	}
	c.closed = true
	c.pending = nil
	c.unregister()
	c.cancel()
}

// unregister stops being the transport's producer, which a LoseConnection
// waits for.
func (c *conn) unregister() {
	if c.registered {
		c.registered = false
		c.t.UnregisterProducer()
	}
}

// PauseProducing is called by the transport when its queued output passes
// the high-water mark: reading pauses until it drains.
func (c *conn) PauseProducing() {
	c.full = true
	c.throttle()
}

// ResumeProducing is called by the transport when its queued output has
// drained below the low-water mark.
func (c *conn) ResumeProducing() {
	c.full = false
	c.throttle()
}

// StopProducing is called by a transport that stops taking output: the
// connection stops reading for good and closes.
func (c *conn) StopProducing() {
	c.registered = false // the transport has dropped it
	c.closed = true
	c.pending = nil
	c.t.LoseConnection()
}

// held reports whether reading must pause: the output queue is full or the
// maximum of calls is outstanding, two independent reasons.
func (c *conn) held() bool { return c.full || c.draining || c.waiting >= c.s.maxPending }

// throttle pauses reading while held and resumes it once not, handling
// first the messages that arrived meanwhile.
func (c *conn) throttle() {
	hold := c.held()
	if hold == c.paused || c.closed {
		return
	}
	c.paused = hold
	if hold {
		c.t.PauseProducing()
		return
	}
	c.t.ResumeProducing()
	if !c.busy {
		c.DataReceived(nil)
	}
}

// done ends an outstanding call once its reply is sent.
func (c *conn) done() {
	c.waiting--
	c.throttle()
	c.closeIfDrained()
}

// DataReceived handles every whole message in the bytes received so far,
// until reading pauses. Messages that arrive whole are parsed in place; only
// the tail of a message split across reads, or the rest of a read cut short
// by a pause, is copied.
func (c *conn) DataReceived(data []byte) {
	if c.closed {
		return
	}
	if len(c.pending) > 0 {
		c.pending = append(c.pending, data...)
		data = c.pending
	}
	c.busy = true
	for !c.closed && !c.held() && len(data) >= 4 {
		n := int32(binary.LittleEndian.Uint32(data))
		if n < headerLen || n > c.s.maxMessageSize {
			c.fail("message length out of bounds", slog.Int("length", int(n)), slog.Int("max", int(c.s.maxMessageSize)))
			return
		}
		if int(n) > len(data) {
			break
		}
		req, err := parseMessage(data[:n])
		if err != nil {
			c.fail("malformed message", slog.Any("error", err))
			return
		}
		c.handle(&req)
		data = data[n:]
	}
	c.busy = false
	if c.closed {
		return
	}
	// append copies forward, so data may overlap c.pending.
	c.pending = append(c.pending[:0], data...)
}

// fail closes the connection after a protocol error, logging why; replies
// already written still go out.
func (c *conn) fail(reason string, attrs ...slog.Attr) {
	c.closed = true
	c.pending = nil
	c.unregister()
	attrs = append(attrs, slog.Int("connectionId", int(c.id)), slog.String("peer", c.t.RemoteAddr().String()))
	c.s.logger.LogAttrs(context.Background(), slog.LevelWarn, "mongowire: closing connection: "+reason, attrs...)
	c.t.LoseConnection()
}

// reply sends doc as the answer to a request: an OP_MSG for an OP_MSG, an
// OP_REPLY with responseFlags for an OP_QUERY. A request with moreToCome
// gets nothing, nor does a closed connection. A document that cannot be
// encoded, or is larger than a BSON object may be, is replaced by the error
// saying so.
func (c *conn) reply(to replyTo, responseFlags int32, doc any) {
	if c.closed || to.moreToCome {
		return
	}
	if err := c.encodeReply(to, responseFlags, doc); err != nil {
		if err = c.encodeReply(to, responseFlags, errorDoc(err)); err != nil {
			// An error document always encodes; this is a bug, not a peer.
			panic(err)
		}
	}
	// Write copies what it cannot send at once, so out is free again.
	c.t.Write(c.out.Bytes())
}

// errReplyTooLarge replaces a reply document larger than a BSON object may be.
var errReplyTooLarge = &rpc.Error{Message: rpc.TooLarge, Detail: "the reply is larger than maxBsonObjectSize"}

// encodeReply encodes the whole reply message into c.out.
func (c *conn) encodeReply(to replyTo, responseFlags int32, doc any) error {
	c.lastRequestID++
	c.out.Reset()
	var hdr [36]byte
	c.out.Write(appendReplyPrefix(hdr[:0], c.lastRequestID, to, responseFlags))
	start := c.out.Len()
	if c.enc == nil {
		c.enc = bson.NewEncoder(bson.NewDocumentWriter(&c.out))
	}
	if err := c.enc.Encode(doc); err != nil {
		// The writer may be left mid-document: start afresh.
		c.enc = nil
		return &rpc.Error{Message: rpc.HandlerError, Detail: "cannot encode the result: " + err.Error()}
	}
	if c.out.Len()-start > maxBSONObjectSize {
		return errReplyTooLarge
	}
	finishMessage(c.out.Bytes())
	return nil
}

// send numbers and sends msg, a reply message that appendReplyPrefix began,
// unless the request wants no reply or the connection is closed.
func (c *conn) send(to replyTo, msg []byte) {
	if c.closed || to.moreToCome {
		return
	}
	c.lastRequestID++
	binary.LittleEndian.PutUint32(msg[4:], uint32(c.lastRequestID))
	finishMessage(msg)
	c.t.Write(msg)
}
