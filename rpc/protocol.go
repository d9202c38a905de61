package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/rpc/internal/session"
)

// Factory returns the factory of the server's framed protocol, to listen
// with (internet.ListenTCP and the like). Each connection gets a context,
// given to functions that take one, which is cancelled when it is lost;
// the Deferreds of its pending calls are cancelled then too.
//
// A message longer than Limits.MaxMessage gets a TooLarge error reply and
// closes the connection (the framing cannot be trusted after it); a
// malformed document gets a BadMessage error reply and the connection goes
// on. A call may carry maxTimeMS, the milliseconds its caller still
// allows: the handler's context has that deadline, and a call that has not
// finished by then is answered Timeout.
//
// A connection stops taking calls, and so slows its client down, while its
// transport's queued output is past the high-water mark, while
// Limits.MaxPending calls are outstanding, and while Limits.MaxOutput bytes
// of answers are held; it takes them again once none holds. The answers
// produced by one read go out in one write.
func (s *Server) Factory() internet.Factory { return framedFactory{s} }

// framedFactory builds the server side of the framed protocol.
type framedFactory struct{ s *Server }

func (f framedFactory) BuildProtocol(net.Addr) internet.Protocol {
	p := &serverProtocol{s: f.s}
	p.Init(p, &f.s.framed)
	return p
}

// LogPrefix names the factory in logs: "RPCServer starting on 9000".
func (framedFactory) LogPrefix() string { return "RPCServer" }

// serverProtocol is one connection of the framed protocol, server side: a
// codec on the session engine, which owns the connection.
type serverProtocol struct {
	session.Conn
	s *Server
	// buf is where answers are encoded, reused from one to the next.
	buf []byte
	// shape is that of the last call read by the single-pass parser
	// (shape.go).
	shape shape
}

// frameStart begins an answer frame in p.buf: its length prefix, filled in
// by frameEnd.
func (p *serverProtocol) frameStart() []byte { return append(p.buf[:0], 0, 0, 0, 0) }

// frameEnd fills in the length prefix of frame. An answer longer than the
// peer may take (its limit is taken to be the server's) is replaced by a
// TooLarge error: a client that got it would have to drop the connection.
func (p *serverProtocol) frameEnd(frame []byte, id bson.RawValue) []byte {
	if n := len(frame) - 4; n > p.s.limits.MaxMessage {
		frame = appendError(frame[:4], id, errorf(TooLarge, "the answer has %d bytes, more than the %d a message may have", n, p.s.limits.MaxMessage))
	}
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return frame
}

// ready sends frame, an answer that is ready, and keeps its buffer for the
// next unless a big answer grew it.
func (p *serverProtocol) ready(frame []byte, ordered bool) {
	p.Ready(frame, ordered)
	p.buf = session.Trim(frame)
}

// TooLarge answers a message over the limit, before the session closes the
// connection.
func (p *serverProtocol) TooLarge(n uint64) {
	b := appendError(p.frameStart(), bson.RawValue{}, errorf(TooLarge, "message of %d bytes, at most %d", n, p.s.limits.MaxMessage))
	p.ready(p.frameEnd(b, bson.RawValue{}), false)
}

// Message handles one message. Answers to messages without an id go out
// in the order of the messages.
func (p *serverProtocol) Message(b []byte) {
	var c fastCall
	if p.shape.parse(p.s, b, &c) {
		p.fastCall(&c)
		return
	}
	p.message(b)
}

// fastCall calls and answers c, a call read by the single-pass parser
// (fast.go).
func (p *serverProtocol) fastCall(c *fastCall) {
	t := c.f.stats.begin(p.s)
	b := p.frameStart()
	idx, b := bsoncore.AppendDocumentStart(b)
	b, err := c.f.invoke(b, "reply", &c.in)
	c.f.stats.finish(p.s, t, err)
	p.buf = b
	if !c.noReply {
		p.answer(b, idx, c.id, err)
	}
}

// message handles a message of any kind by the general path.
func (p *serverProtocol) message(b []byte) {
	m, err := ParseMessage(b)
	ordered := m.ID.Type == 0
	if err != nil {
		p.ready(p.frameEnd(appendError(p.frameStart(), m.ID, asError(err)), m.ID), ordered)
		return
	}
	switch m.Kind {
	case KindCall:
		p.call(&m)
	case KindInfo:
		p.ready(p.frameEnd(p.appendInfo(p.frameStart(), m.ID), m.ID), ordered)
	default:
		e := errorf(BadMessage, "a server takes calls and info requests, not %v", m.Kind)
		p.ready(p.frameEnd(appendError(p.frameStart(), m.ID, e), m.ID), ordered)
	}
}

// call calls the function m names and answers it: at once if its result is
// ready, once it is otherwise.
func (p *serverProtocol) call(m *Message) {
	ctx, release := p.CallContext(m.MaxTime)
	ordered := m.ID.Type == 0
	b := p.frameStart()
	idx, b := bsoncore.AppendDocumentStart(b)
	b, d, err := p.s.AppendCall(b, ctx, p.Clock(), "reply", m.Func, m.Args)
	p.buf = b
	switch {
	case d != nil && m.NoReply:
		// Unanswered, it still counts as outstanding until it ends.
		p.Await(d, false, func(any) []byte { release(); return nil })
	case d != nil:
		id := m.ID
		id.Value = bytes.Clone(id.Value) // outlives the message
		p.Await(d, ordered, func(r any) []byte {
			release()
			frame := p.frameEnd(appendAnswer(p.frameStart(), id, r), id)
			p.buf = session.Trim(frame)
			return frame
		})
	case m.NoReply:
		release()
	default:
		release()
		p.answer(b, idx, m.ID, err)
	}
}

// answer sends the answer to the call with the given id whose result is
// ready: b is its frame so far, the reply element appended to the document
// begun at idx, or err the call's failure.
func (p *serverProtocol) answer(b []byte, idx int32, id bson.RawValue, err error) {
	ordered := id.Type == 0
	if err != nil {
		p.ready(p.frameEnd(appendError(b[:4], id, asError(err)), id), ordered)
		return
	}
	b = appendID(b, id)
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	p.ready(p.frameEnd(b, id), ordered)
}

func ignore(*deferred.Failure) (any, error) { return nil, nil }

// asError makes err, a call's failure, an *Error: the *Error it wraps, or a
// HandlerError.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errorf(HandlerError, "%v", err)
}

// appendAnswer appends the reply or error message with the given id that
// answers with r, the result of a call's Deferred.
func appendAnswer(dst []byte, id bson.RawValue, r any) []byte {
	if f, ok := r.(*deferred.Failure); ok {
		return appendError(dst, id, asError(f))
	}
	start := len(dst)
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst, err := appendResult(dst, "reply", r)
	if err != nil {
		return appendError(dst[:start], id, asError(err))
	}
	dst = appendID(dst, id)
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
	return dst
}

// appendInfo appends the info message answering an info request.
func (p *serverProtocol) appendInfo(dst []byte, id bson.RawValue) []byte {
	info, err := bson.Marshal(p.s.Info())
	if err != nil {
		return appendError(dst, id, errorf(HandlerError, "cannot encode info: %v", err))
	}
	dst, _ = AppendMessage(dst, &Message{Kind: KindInfo, ID: id, Info: info})
	return dst
}

func appendError(dst []byte, id bson.RawValue, e *Error) []byte {
	dst, _ = AppendMessage(dst, &Message{Kind: KindError, ID: id, Err: e})
	return dst
}

// appendResult appends a function's result v as the element key; a value
// without a BSON encoding is a HandlerError.
func appendResult(dst []byte, key string, v any) ([]byte, error) {
	out, err := appendValueElement(dst, key, v)
	if err != nil {
		return dst, errorf(HandlerError, "cannot encode the result %T: %v", v, err)
	}
	return out, nil
}

// appendValueElement appends v as the element key, with fast paths for
// the common scalar results and the bson package for the rest.
func appendValueElement(dst []byte, key string, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return bsoncore.AppendNullElement(dst, key), nil
	case int:
		return appendInt(dst, key, int64(x)), nil
	case int32:
		return bsoncore.AppendInt32Element(dst, key, x), nil
	case int64:
		return bsoncore.AppendInt64Element(dst, key, x), nil
	case float64:
		return bsoncore.AppendDoubleElement(dst, key, x), nil
	case string:
		return bsoncore.AppendStringElement(dst, key, x), nil
	case bool:
		return bsoncore.AppendBooleanElement(dst, key, x), nil
	case bson.RawValue:
		if x.Type == 0 {
			return bsoncore.AppendNullElement(dst, key), nil
		}
		return bsoncore.AppendValueElement(dst, key, bsoncore.Value{Type: bsoncore.Type(x.Type), Data: x.Value}), nil
	}
	t, data, err := bson.MarshalValue(v)
	if err != nil {
		return dst, err
	}
	if t == 0 {
		return dst, fmt.Errorf("no BSON type for %T", v)
	}
	return bsoncore.AppendValueElement(dst, key, bsoncore.Value{Type: bsoncore.Type(t), Data: data}), nil
}

// appendInt appends a Go int as the bson package encodes one: an int32
// when it fits, an int64 otherwise.
func appendInt(dst []byte, key string, n int64) []byte {
	if int64(int32(n)) == n {
		return bsoncore.AppendInt32Element(dst, key, int32(n))
	}
	return bsoncore.AppendInt64Element(dst, key, n)
}

// appendScalar appends a shim's result of kind k as appendValueElement
// appends the same value. key must hold no NUL (see appendHeader).
func appendScalar(dst []byte, key string, k scalarKind, v *scalar) []byte {
	switch k {
	case kindInt:
		if int64(int32(v.n)) == v.n {
			return binary.LittleEndian.AppendUint32(appendHeader(dst, bsoncore.TypeInt32, key), uint32(v.n))
		}
		fallthrough
	case kindInt64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, bsoncore.TypeInt64, key), uint64(v.n))
	case kindFloat64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, bsoncore.TypeDouble, key), math.Float64bits(v.f))
	case kindString:
		return bsoncore.AppendString(appendHeader(dst, bsoncore.TypeString, key), v.s)
	}
	b := byte(0)
	if v.b {
		b = 1
	}
	return append(appendHeader(dst, bsoncore.TypeBoolean, key), b)
}

// appendHeader appends an element's type and key, as bsoncore.AppendHeader
// does without its check that the key holds no NUL, which costs as much as
// the rest of a small answer: the keys here are the package's own
// ("reply", "id") or checked once by AppendCall.
func appendHeader(dst []byte, t bsoncore.Type, key string) []byte {
	dst = append(dst, byte(t))
	dst = append(dst, key...)
	return append(dst, 0)
}
