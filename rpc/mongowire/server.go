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
	"github.com/twistgo/twist/rpc"
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
// otherwise, and the maxMessageSizeBytes it advertises: MongoDB's own limit.
const DefaultMaxMessageSize = 48_000_000

// maxBSONObjectSize is the largest document the server advertises and sends:
// MongoDB's 16 MiB.
const maxBSONObjectSize = 16 * 1024 * 1024

// A Server answers the MongoDB wire protocol on each connection it builds a
// protocol for: it is an internet.Factory, safe for use from several loops.
type Server struct {
	d              Dispatcher
	maxMessageSize int32
	logger         *slog.Logger
	now            func() time.Time
	lastConnID     atomic.Int32
}

var _ internet.Factory = (*Server)(nil)

// An Option configures a Server.
type Option func(*Server)

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

// WithLogger sets where the server logs why it closed a connection;
// slog.Default() if not set.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.logger = l }
}

// NewServer returns a server that exposes the functions of d.
func NewServer(d Dispatcher, opts ...Option) *Server {
	s := &Server{d: d, maxMessageSize: DefaultMaxMessageSize, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}

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
	// pending holds the start of a message split across reads.
	pending []byte
	// out is the reply being encoded, reused from one reply to the next;
	// enc writes documents into it.
	out bytes.Buffer
	enc *bson.Encoder
	// buf holds the replies of calls, appended directly, reused likewise.
	buf []byte
	// lastRequestID numbers the replies.
	lastRequestID int32
	closed        bool
}

func (c *conn) ConnectionMade(t internet.Transport) {
	c.t = t
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if l, ok := t.(internet.Looper); ok {
		c.clk = l.Loop()
	}
}

func (c *conn) ConnectionLost(reason error) {
	c.closed = true
	c.pending = nil
	c.cancel()
}

// DataReceived handles every whole message in the bytes received so far.
// Messages that arrive whole are parsed in place; only the tail of a message
// split across reads is copied.
func (c *conn) DataReceived(data []byte) {
	if c.closed {
		return
	}
	if len(c.pending) > 0 {
		c.pending = append(c.pending, data...)
		data = c.pending
	}
	for !c.closed && len(data) >= 4 {
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
