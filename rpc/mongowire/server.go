package mongowire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
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
// Each connection is a codec on the session engine shared with the framed
// protocol: its pending calls (functions, find and the older-style
// queries alike) count toward one cap, are cancelled when it is lost, and
// their answers produced by one read go out in one write. It stops taking
// calls, and so slows its client down, while its transport's queued output
// is past the high-water mark, while the maximum of calls is outstanding
// (see WithMaxPending) and while too many bytes of answers wait for the
// peer; it takes them again once none holds.
type Server struct {
	d              Dispatcher
	maxMessageSize int32
	maxPending     int
	maxOutput      int
	maxDepth       int
	logger         *slog.Logger
	now            func() time.Time
	lastConnID     atomic.Int32
	stats          serverStats // status.go
	// group is the connection group of the rpc.Server dispatching, if d is
	// one, so that its Drain drains these connections too.
	group *session.Group
	cfg   session.Config
}

var _ internet.Factory = (*Server)(nil)

// An Option configures a Server.
type Option func(*Server)

// WithLimits sets the limits of rpc.Limits that apply to the wire
// protocol: MaxWireMessage, MaxPending, MaxOutput and MaxDepth (zero
// fields keep their defaults). A server whose Dispatcher is an *rpc.Server
// has that server's limits unless told otherwise.
func WithLimits(l rpc.Limits) Option {
	return func(s *Server) {
		WithMaxMessageSize(l.MaxWireMessage)(s)
		WithMaxPending(l.MaxPending)(s)
		if l.MaxOutput > 0 {
			s.maxOutput = l.MaxOutput
		}
		if l.MaxDepth > 0 {
			s.maxDepth = l.MaxDepth
		}
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
	s := &Server{
		d:              d,
		maxMessageSize: DefaultMaxMessageSize,
		maxPending:     DefaultMaxPending,
		maxOutput:      rpc.DefaultMaxOutput,
		maxDepth:       rpc.DefaultMaxDepth,
		now:            time.Now,
	}
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
	s.cfg = session.Config{
		Name:           "mongowire",
		LittleEndian:   true,
		PrefixIncluded: true,
		MinMessage:     headerLen,
		MaxMessage:     int(s.maxMessageSize),
		MaxPending:     s.maxPending,
		MaxOutput:      s.maxOutput,
		Logger:         s.logger,
		Group:          s.group,
	}
	s.stats.started = s.now()
	return s
}

// LogPrefix names the server in logs: "MongoWireServer starting on 27017".
func (s *Server) LogPrefix() string { return "MongoWireServer" }

// BuildProtocol returns the protocol for a new connection. Each connection
// gets its own connectionId, counting from 1.
func (s *Server) BuildProtocol(addr net.Addr) internet.Protocol {
	c := &conn{s: s, id: s.lastConnID.Add(1)}
	c.Init(c, &s.cfg)
	c.SetLogAttrs(slog.Int("connectionId", int(c.id)))
	return c
}

// conn is the protocol of one connection: a codec on the session engine,
// which owns the connection.
type conn struct {
	session.Conn
	s  *Server
	id int32
	// out is the reply being encoded, reused from one reply to the next;
	// enc writes documents into it.
	out bytes.Buffer
	enc *bson.Encoder
	// buf holds the replies of calls, appended directly, reused likewise.
	buf []byte
	// lastRequestID numbers the replies.
	lastRequestID int32
	// lastFunc is the name of the function called last (funcName).
	lastFunc string
}

// ConnectionMade counts the connection for serverStatus and starts it.
func (c *conn) ConnectionMade(t internet.Transport) {
	c.s.stats.opened()
	c.Conn.ConnectionMade(t)
}

// ConnectionLost counts the connection's end and cancels its calls.
func (c *conn) ConnectionLost(reason error) {
	c.s.stats.closed()
	c.Conn.ConnectionLost(reason)
}

// Message handles one message, the bytes after its length field. A
// malformed one closes the connection: the peer broke the protocol. One
// nested too deeply to be checked is answered BadArguments, and the
// connection goes on.
func (c *conn) Message(msg []byte) {
	req, err := parseFrame(msg, c.s.maxDepth+cmdLevels)
	switch {
	case errors.Is(err, errTooDeep):
		c.reply(req.to, 0, errorDoc(&rpc.Error{Message: rpc.BadArguments, Detail: err.Error()}))
	case err != nil:
		c.Fail("malformed message", slog.String("error", session.Bound(err.Error())))
	default:
		c.handle(&req)
	}
}

// TooLarge has nothing to answer: a reply needs a request id, and the
// header of an oversized message is not read.
func (c *conn) TooLarge(uint64) {}

// reply sends doc as the answer to a request: an OP_MSG for an OP_MSG, an
// OP_REPLY with responseFlags for an OP_QUERY. A request with moreToCome
// gets nothing, nor does a closed connection. A document that cannot be
// encoded, or is larger than a BSON object may be, is replaced by the error
// saying so.
func (c *conn) reply(to replyTo, responseFlags int32, doc any) {
	if c.Lost() || to.moreToCome {
		return
	}
	c.Send(c.encode(to, responseFlags, doc))
}

// encode returns the reply message to a request, in c.out: valid until the
// next reply is encoded.
func (c *conn) encode(to replyTo, responseFlags int32, doc any) []byte {
	if err := c.encodeReply(to, responseFlags, doc); err != nil {
		if err = c.encodeReply(to, responseFlags, errorDoc(err)); err != nil {
			// An error document always encodes; this is a bug, not a peer.
			panic(err)
		}
	}
	return c.out.Bytes()
}

// errReplyTooLarge replaces a reply document larger than a BSON object may be.
var errReplyTooLarge = &rpc.Error{Message: rpc.TooLarge, Detail: "the reply is larger than maxBsonObjectSize"}

// encodeReply encodes the whole reply message into c.out.
func (c *conn) encodeReply(to replyTo, responseFlags int32, doc any) error {
	c.lastRequestID++
	if c.out.Cap() > maxKeptReply {
		c.out, c.enc = bytes.Buffer{}, nil // give back what a big reply grew
	}
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
	if c.Lost() || to.moreToCome {
		return
	}
	c.lastRequestID++
	binary.LittleEndian.PutUint32(msg[4:], uint32(c.lastRequestID))
	finishMessage(msg)
	c.Send(msg)
}

// maxKeptReply is the largest reply buffer a connection keeps between
// replies.
const maxKeptReply = 64 << 10

// cmdLevels is how many levels of nesting a command adds above the
// arguments of the call it makes: an older-style find's filter holds argstr,
// which holds the argument array. Messages are bounded to the arguments'
// depth plus these before any document is validated; the function's
// arguments are then bounded exactly.
const cmdLevels = 4
