package rpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/reactor"
)

// Factory returns the factory of the server's framed protocol, to listen
// with (internet.ListenTCP and the like). Each connection gets a context,
// given to functions that take one, which is cancelled when it is lost.
//
// A message longer than the server's maximum size gets a TooLarge error
// reply and closes the connection (the framing cannot be trusted after
// it); a malformed document gets a BadMessage error reply and the
// connection goes on.
//
// A connection stops reading, and so slows its client down, while its
// transport's queued output is past the high-water mark (the protocol is
// the transport's streaming producer) and while the server's maximum of
// calls is outstanding (see WithMaxPending); it reads again once neither
// holds.
func (s *Server) Factory() internet.Factory { return framedFactory{s} }

// framedFactory builds the server side of the framed protocol.
type framedFactory struct{ s *Server }

func (f framedFactory) BuildProtocol(net.Addr) internet.Protocol {
	p := &serverProtocol{s: f.s}
	p.Handler = p
	p.MaxLength = f.s.limits.MaxMessage
	return p
}

// LogPrefix names the factory in logs: "RPCServer starting on 9000".
func (framedFactory) LogPrefix() string { return "RPCServer" }

// serverProtocol is one connection of the framed protocol, server side.
type serverProtocol struct {
	basic.Int32StringReceiver
	s      *Server
	ctx    context.Context
	cancel context.CancelFunc
	clk    clock.Clock
	// ordered holds the answers to calls without an id, in call order,
	// from the first one not yet sent.
	ordered []*answer
	// waiting counts the other calls whose Deferred has not fired: those
	// with an id, and those that want no reply.
	waiting int
	// full is set while the transport's queued output is past its
	// high-water mark, between its PauseProducing and ResumeProducing.
	full bool
	// registered is set while the protocol is the transport's producer.
	registered bool
	// closing is set once the connection is being closed on purpose:
	// from then on reading is left alone.
	closing bool
	lost    bool
	// draining is set once Drain was called: reading stops, and the
	// connection closes when nothing is outstanding.
	draining bool
	buf      []byte
	// While reading, answers collect in out, with their length prefixes,
	// and go out with one write when the read is handled (or out is full):
	// calls pipelined on a connection are answered with a write per read,
	// not a write per call.
	reading bool
	out     []byte
}

// maxBatch is how many bytes of answers wait for the end of a read.
const maxBatch = 64 << 10

// answer is an answer waiting for the earlier ones to be sent.
type answer struct {
	frame []byte
	done  bool
}

func (p *serverProtocol) ConnectionMade(t internet.Transport) {
	p.Int32StringReceiver.ConnectionMade(t)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	var loop *reactor.Reactor
	if l, ok := t.(internet.Looper); ok {
		loop = l.Loop()
		p.clk = loop
	}
	p.registered = true // first: on a closed transport, RegisterProducer stops p at once
	if err := t.RegisterProducer(p, true); err != nil {
		p.registered = false
		p.s.logger.Warn("rpc: answers go out without flow control", "peer", t.RemoteAddr(), "err", err)
	}
	if p.s.group.Add(p, loop) {
		p.Drain()
	}
}

// Drain stops reading and closes the connection once every outstanding
// call is answered (see Server.Drain).
func (p *serverProtocol) Drain() {
	if p.lost || p.draining {
		return
	}
	p.draining = true
	p.throttle()
	p.closeIfDrained()
}

// Abort closes the connection at once (see Server.Drain).
func (p *serverProtocol) Abort() {
	if !p.lost {
		p.Transport.AbortConnection()
	}
}

// closeIfDrained closes a draining connection once nothing is outstanding.
func (p *serverProtocol) closeIfDrained() {
	if !p.draining || p.closing || p.lost || p.waiting > 0 || len(p.ordered) > 0 {
		return
	}
	p.flushOut()
	p.closing = true
	p.unregister()
	p.Transport.LoseConnection()
}

func (p *serverProtocol) ConnectionLost(reason error) {
	p.s.group.Remove(p)
	p.lost = true
	p.ordered = nil
	p.unregister()
	if p.cancel != nil {
		p.cancel()
	}
}

// unregister stops being the transport's producer, which a LoseConnection
// waits for.
func (p *serverProtocol) unregister() {
	if p.registered {
		p.registered = false
		p.Transport.UnregisterProducer()
	}
}

// PauseProducing is called by the transport when its queued output passes
// the high-water mark: reading pauses until it drains.
func (p *serverProtocol) PauseProducing() {
	p.full = true
	p.throttle()
}

// ResumeProducing is called by the transport when its queued output has
// drained below the low-water mark.
func (p *serverProtocol) ResumeProducing() {
	p.full = false
	p.throttle()
}

// StopProducing is called by a transport that stops taking output: the
// protocol stops reading for good and closes the connection.
func (p *serverProtocol) StopProducing() {
	p.registered = false // the transport has dropped it
	p.closing = true
	p.Int32StringReceiver.StopProducing()
}

// throttle pauses reading while the output queue is full or the maximum of
// calls is outstanding, and resumes it once neither holds: the two reasons
// are independent, and either keeps reading paused.
func (p *serverProtocol) throttle() {
	hold := p.full || p.draining || p.waiting+len(p.ordered) >= p.s.limits.MaxPending
	if hold == p.Paused() || p.lost || p.closing {
		return
	}
	if hold {
		p.Int32StringReceiver.PauseProducing()
		return
	}
	// Resuming delivers the messages that arrived meanwhile: their answers
	// are batched as those of a read are.
	was := p.reading
	p.reading = true
	p.Int32StringReceiver.ResumeProducing()
	p.reading = was
	if !was {
		p.flushOut()
	}
}

// LengthLimitExceeded answers TooLarge and closes the connection: the rest
// of the stream cannot be framed.
func (p *serverProtocol) LengthLimitExceeded(n uint64) {
	p.s.logger.Warn("rpc: closing connection: message too large",
		"peer", p.Transport.RemoteAddr(), "length", n, "max", p.s.limits.MaxMessage)
	p.send(appendError(p.buf[:0], bson.RawValue{}, errorf(TooLarge, "message of %d bytes, at most %d", n, p.s.limits.MaxMessage)))
	p.flushOut()
	p.closing = true
	p.unregister()
	p.Transport.LoseConnection()
}

// DataReceived handles the messages in data and then writes their answers
// that are ready, all at once.
func (p *serverProtocol) DataReceived(data []byte) {
	p.reading = true
	p.Int32StringReceiver.DataReceived(data)
	p.reading = false
	p.flushOut()
}

func (p *serverProtocol) StringReceived(b []byte) {
	m, err := ParseMessage(b)
	if err != nil {
		p.ready(m.ID, appendError(p.buf[:0], m.ID, asError(err)))
		return
	}
	switch m.Kind {
	case KindCall:
		p.call(&m)
	case KindInfo:
		p.ready(m.ID, p.appendInfo(p.buf[:0], m.ID))
	default:
		p.ready(m.ID, appendError(p.buf[:0], m.ID, errorf(BadMessage, "a server takes calls and info requests, not %v", m.Kind)))
	}
}

// call calls the function m names and answers it: at once if its result is
// ready, once it is otherwise.
func (p *serverProtocol) call(m *Message) {
	idx, dst := bsoncore.AppendDocumentStart(p.buf[:0])
	dst, d, err := p.s.AppendCall(dst, p.ctx, p.clk, "reply", m.Func, m.Args)
	p.buf = dst
	switch {
	case m.NoReply:
		if d != nil {
			// Unanswered, it still counts as outstanding until it ends.
			p.waiting++
			d.AddBoth(func(any) (any, error) {
				p.settle()
				return nil, nil
			})
			p.throttle()
		}
	case d != nil:
		p.answer(m.ID, d)
	case err != nil:
		p.ready(m.ID, appendError(dst[:0], m.ID, asError(err)))
	default:
		dst = appendID(dst, m.ID)
		dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
		p.ready(m.ID, dst)
	}
}

func ignore(*deferred.Failure) (any, error) { return nil, nil }

// ready sends frame, an answer that is ready, to the message with the given
// id: at once for a call with an id or when no earlier answer is awaited,
// after the earlier answers otherwise. frame is the connection's buffer.
func (p *serverProtocol) ready(id bson.RawValue, frame []byte) {
	p.buf = frame
	if id.Type != 0 || len(p.ordered) == 0 {
		p.send(frame)
		return
	}
	a := p.await()
	a.frame, a.done = bytes.Clone(frame), true
	p.flush()
}

// answer sends d's result, once it fires, as the answer to the message with
// the given id: at once for a call with an id, after the earlier answers
// for one without. Until then the call is outstanding.
func (p *serverProtocol) answer(id bson.RawValue, d *deferred.Deferred) {
	if id.Type != 0 {
		id.Value = bytes.Clone(id.Value) // outlives the message
		p.waiting++
		d.AddBoth(func(r any) (any, error) {
			p.send(appendAnswer(nil, id, r))
			p.settle()
			return nil, nil
		})
		p.throttle()
		return
	}
	a := p.await()
	d.AddBoth(func(r any) (any, error) {
		a.frame, a.done = appendAnswer(nil, id, r), true
		p.flush()
		return nil, nil
	})
}

// settle ends an outstanding call whose Deferred has fired.
func (p *serverProtocol) settle() {
	p.waiting--
	p.throttle()
	p.closeIfDrained()
}

// await adds an answer to those of the calls without an id, and pauses
// reading when too many calls are outstanding.
func (p *serverProtocol) await() *answer {
	a := &answer{}
	p.ordered = append(p.ordered, a)
	p.throttle()
	return a
}

// flush sends the ordered answers that are ready, up to the first that is not.
func (p *serverProtocol) flush() {
	n := 0
	for n < len(p.ordered) && p.ordered[n].done {
		p.send(p.ordered[n].frame)
		n++
	}
	if p.lost {
		return
	}
	p.ordered = p.ordered[:copy(p.ordered, p.ordered[n:])]
	p.throttle()
	p.closeIfDrained()
}

// send sends frame with its length prefix: now, or at the end of the read
// being handled.
func (p *serverProtocol) send(frame []byte) {
	if p.lost {
		return
	}
	if !p.reading {
		p.report(p.SendString(frame))
		return
	}
	p.out = binary.BigEndian.AppendUint32(p.out, uint32(len(frame)))
	p.out = append(p.out, frame...)
	if len(p.out) >= maxBatch {
		p.flushOut()
	}
}

// flushOut writes the answers collected in out.
func (p *serverProtocol) flushOut() {
	if len(p.out) == 0 || p.lost {
		p.out = p.out[:0]
		return
	}
	// Write copies what the socket does not take, so out is free again.
	_, err := p.Transport.Write(p.out)
	p.out = p.out[:0]
	p.report(err)
}

func (p *serverProtocol) report(err error) {
	if err != nil && !errors.Is(err, internet.ErrConnectionClosed) {
		p.s.logger.Warn("rpc: cannot send answer", "peer", p.Transport.RemoteAddr(), "err", err)
	}
}

// split turns a Deferred's result into a value or an error.
func split(r any) (any, error) {
	if f, ok := r.(*deferred.Failure); ok {
		return nil, f
	}
	return r, nil
}

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
// appends the same value.
func appendScalar(dst []byte, key string, k scalarKind, v *scalar) []byte {
	switch k {
	case kindInt:
		return appendInt(dst, key, v.n)
	case kindInt64:
		return bsoncore.AppendInt64Element(dst, key, v.n)
	case kindFloat64:
		return bsoncore.AppendDoubleElement(dst, key, v.f)
	case kindString:
		return bsoncore.AppendStringElement(dst, key, v.s)
	}
	return bsoncore.AppendBooleanElement(dst, key, v.b)
}
