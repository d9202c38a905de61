package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
)

// Factory returns the factory of the server's framed protocol, to listen
// with (internet.ListenTCP and the like). Each connection gets a context,
// given to functions that take one, which is cancelled when it is lost.
//
// A message longer than the server's maximum size gets a TooLarge error
// reply and closes the connection (the framing cannot be trusted after
// it); a malformed document gets a BadMessage error reply and the
// connection goes on.
func (s *Server) Factory() internet.Factory {
	return internet.FactoryFunc(func(net.Addr) internet.Protocol {
		p := &serverProtocol{s: s}
		p.Handler = p
		p.MaxLength = s.maxSize
		return p
	})
}

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
	held    bool // reading is paused because ordered is full
	lost    bool
	buf     []byte
}

// answer is an answer waiting for the earlier ones to be sent.
type answer struct {
	frame []byte
	done  bool
}

func (p *serverProtocol) ConnectionMade(t internet.Transport) {
	p.Int32StringReceiver.ConnectionMade(t)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if l, ok := t.(internet.Looper); ok {
		p.clk = l.Loop()
	}
}

func (p *serverProtocol) ConnectionLost(reason error) {
	p.lost = true
	p.ordered = nil
	if p.cancel != nil {
		p.cancel()
	}
}

// LengthLimitExceeded answers TooLarge and closes the connection: the rest
// of the stream cannot be framed.
func (p *serverProtocol) LengthLimitExceeded(n uint64) {
	p.s.logger.Warn("rpc: closing connection: message too large",
		"peer", p.Transport.RemoteAddr(), "length", n, "max", p.s.maxSize)
	p.send(appendError(p.buf[:0], bson.RawValue{}, errorf(TooLarge, "message of %d bytes, at most %d", n, p.s.maxSize)))
	p.Transport.LoseConnection()
}

func (p *serverProtocol) StringReceived(b []byte) {
	m, err := ParseMessage(b)
	if err != nil {
		p.answer(m.ID, deferred.Fail(err))
		return
	}
	switch m.Kind {
	case KindCall:
		d := p.s.Dispatch(p.ctx, p.clk, m.Func, m.Args)
		if m.NoReply {
			d.AddErrback(ignore)
			return
		}
		p.answer(m.ID, d)
	case KindInfo:
		p.answer(m.ID, deferred.Succeed(infoRequest{}))
	default:
		p.answer(m.ID, deferred.Fail(errorf(BadMessage, "a server takes calls and info requests, not %v", m.Kind)))
	}
}

// infoRequest is the result that stands for the answer to an info request.
type infoRequest struct{}

func ignore(*deferred.Failure) (any, error) { return nil, nil }

// answer sends d's result, once there is one, as the answer to the
// message with the given id: at once for a call with an id, after the
// earlier answers for one without.
func (p *serverProtocol) answer(id bson.RawValue, d *deferred.Deferred) {
	if d.Called() && (id.Type != 0 || len(p.ordered) == 0) {
		// The common case: the answer is ready and nothing is ahead of it.
		v, err := d.Result()
		if _, waiting := v.(*deferred.Deferred); !waiting {
			if err != nil {
				d.AddErrback(ignore)
			}
			p.buf = p.appendAnswer(p.buf[:0], id, v, err)
			p.send(p.buf)
			return
		}
	}
	if id.Type != 0 {
		id.Value = append([]byte(nil), id.Value...) // outlives the message
		d.AddBoth(func(r any) (any, error) {
			v, err := split(r)
			p.send(p.appendAnswer(nil, id, v, err))
			return nil, nil
		})
		return
	}
	a := &answer{}
	p.ordered = append(p.ordered, a)
	if len(p.ordered) >= p.s.maxPending && !p.held {
		p.held = true
		p.PauseProducing()
	}
	d.AddBoth(func(r any) (any, error) {
		v, err := split(r)
		a.frame, a.done = p.appendAnswer(nil, id, v, err), true
		p.flush()
		return nil, nil
	})
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
	if p.held && len(p.ordered) < p.s.maxPending {
		p.held = false
		p.ResumeProducing()
	}
}

func (p *serverProtocol) send(frame []byte) {
	if p.lost {
		return
	}
	if err := p.SendString(frame); err != nil && !errors.Is(err, internet.ErrConnectionClosed) {
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

// appendAnswer appends the reply, error or info message answering the
// message with the given id.
func (p *serverProtocol) appendAnswer(dst []byte, id bson.RawValue, v any, err error) []byte {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = errorf(HandlerError, "%v", err)
		}
		return appendError(dst, id, e)
	}
	if _, ok := v.(infoRequest); ok {
		info, merr := bson.Marshal(p.s.Info())
		if merr != nil {
			return appendError(dst, id, errorf(HandlerError, "cannot encode info: %v", merr))
		}
		dst, _ = AppendMessage(dst, &Message{Kind: KindInfo, ID: id, Info: info})
		return dst
	}
	start := len(dst)
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst, merr := appendValueElement(dst, "reply", v)
	if merr != nil {
		return appendError(dst[:start], id, errorf(HandlerError, "cannot encode the result %T: %v", v, merr))
	}
	dst = appendID(dst, id)
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
	return dst
}

func appendError(dst []byte, id bson.RawValue, e *Error) []byte {
	dst, _ = AppendMessage(dst, &Message{Kind: KindError, ID: id, Err: e})
	return dst
}

// appendValueElement appends v as the element key, with fast paths for
// the common scalar results and the bson package for the rest.
func appendValueElement(dst []byte, key string, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return bsoncore.AppendNullElement(dst, key), nil
	case int:
		if int64(int32(x)) == int64(x) {
			return bsoncore.AppendInt32Element(dst, key, int32(x)), nil
		}
		return bsoncore.AppendInt64Element(dst, key, int64(x)), nil
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
