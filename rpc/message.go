package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/rpc/internal/session"
)

// The kinds of error, the message field of an error reply.
const (
	// NoSuchFunction: no function is registered under the name called.
	NoSuchFunction = "NoSuchFunction"
	// BadArguments: the arguments do not fit the function's parameters.
	BadArguments = "BadArguments"
	// HandlerError: the function returned an error or panicked.
	HandlerError = "HandlerError"
	// TooLarge: a message was longer than the receiver's limit.
	TooLarge = "TooLarge"
	// Timeout: the function did not answer within the call's time-out.
	Timeout = "Timeout"
	// BadMessage: a message was not a well-formed call or answer.
	BadMessage = "BadMessage"
)

// Error is an error reply: Message names the kind of error (one of the
// constants above) and Detail says what happened, for people.
type Error struct {
	Message string
	Detail  string
}

// Error returns "rpc: Message: Detail".
func (e *Error) Error() string {
	if e.Detail == "" {
		return "rpc: " + e.Message
	}
	return "rpc: " + e.Message + ": " + e.Detail
}

// Is reports whether target is an *Error of the same kind with no detail,
// such as ErrNoSuchFunction, so that errors.Is matches a kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Detail == "" && t.Message == e.Message
}

// Sentinels matching each kind of error reply with errors.Is.
var (
	ErrNoSuchFunction = &Error{Message: NoSuchFunction}
	ErrBadArguments   = &Error{Message: BadArguments}
	ErrHandlerError   = &Error{Message: HandlerError}
	ErrTooLarge       = &Error{Message: TooLarge}
	ErrTimeout        = &Error{Message: Timeout}
	ErrBadMessage     = &Error{Message: BadMessage}
)

// errorf makes an *Error whose detail is bounded (session.Bound): a
// detail may quote what a peer sent, and an answer must not grow with it.
func errorf(kind, format string, args ...any) *Error {
	return &Error{Message: kind, Detail: session.Bound(fmt.Sprintf(format, args...))}
}

// Kind tells what a Message is.
type Kind int

// The kinds of message.
const (
	// KindCall is a call: {call: {funcname, arguments}, id, noreply}.
	KindCall Kind = iota + 1
	// KindReply is a result: {reply: value, id}.
	KindReply
	// KindError is an error reply: {error: {message, detail}, id}.
	KindError
	// KindInfo is an introspection request or its answer: {info: {...}}.
	KindInfo
)

// String returns the message's key: "call", "reply", "error" or "info".
func (k Kind) String() string {
	switch k {
	case KindCall:
		return "call"
	case KindReply:
		return "reply"
	case KindError:
		return "error"
	case KindInfo:
		return "info"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Message is one message of the framed protocol. Which fields are used
// depends on Kind. A parsed Message's raw fields share the bytes it was
// parsed from.
type Message struct {
	Kind Kind
	// ID pairs a call with its answer; its zero value (Type 0) means no id.
	// It is a plain scalar (see ParseMessage), and an answer carries its
	// call's id as is.
	ID bson.RawValue
	// Func and Args are a call's function name and arguments.
	Func string
	Args bson.RawArray
	// NoReply marks a call that gets no answer.
	NoReply bool
	// MaxTime is how long the caller still allows a call, sent as the
	// field maxTimeMS in whole milliseconds; 0 means no limit.
	MaxTime time.Duration
	// Value is a reply's result (BSON null for a function without one).
	Value bson.RawValue
	// Err is an error reply's error.
	Err *Error
	// Info is an info message's document: empty in a request.
	Info bson.Raw
}

// emptyDoc is the BSON empty document.
var emptyDoc = []byte{5, 0, 0, 0, 0}

// AppendMessage appends m's BSON document to dst.
func AppendMessage(dst []byte, m *Message) ([]byte, error) {
	idx, dst := bsoncore.AppendDocumentStart(dst)
	switch m.Kind {
	case KindCall:
		var cidx int32
		cidx, dst = bsoncore.AppendDocumentElementStart(dst, "call")
		dst = bsoncore.AppendStringElement(dst, "funcname", m.Func)
		args := m.Args
		if len(args) == 0 {
			args = emptyDoc
		}
		dst = bsoncore.AppendArrayElement(dst, "arguments", args)
		dst, _ = bsoncore.AppendDocumentEnd(dst, cidx)
	case KindReply:
		v := m.Value
		if v.Type == 0 {
			v.Type = bson.TypeNull
		}
		dst = bsoncore.AppendValueElement(dst, "reply", bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
	case KindError:
		e := m.Err
		if e == nil {
			return dst, errors.New("rpc: error message without an error")
		}
		var eidx int32
		eidx, dst = bsoncore.AppendDocumentElementStart(dst, "error")
		dst = bsoncore.AppendStringElement(dst, "message", e.Message)
		dst = bsoncore.AppendStringElement(dst, "detail", e.Detail)
		dst, _ = bsoncore.AppendDocumentEnd(dst, eidx)
	case KindInfo:
		info := []byte(m.Info)
		if len(info) == 0 {
			info = emptyDoc
		}
		dst = bsoncore.AppendDocumentElement(dst, "info", info)
	default:
		return dst, fmt.Errorf("rpc: cannot encode a message of kind %v", m.Kind)
	}
	dst = appendID(dst, m.ID)
	if m.NoReply {
		dst = bsoncore.AppendBooleanElement(dst, "noreply", true)
	}
	if m.MaxTime > 0 {
		ms := (m.MaxTime + time.Millisecond - 1) / time.Millisecond // rounded up: 0 would mean none
		dst = bsoncore.AppendInt64Element(dst, "maxTimeMS", int64(ms))
	}
	return bsoncore.AppendDocumentEnd(dst, idx)
}

// maxIDString is the longest string id a message may carry.
const maxIDString = session.MaxText

// plainID reports whether v may be a message's id: an integer, a double,
// an ObjectId, or a string of at most maxIDString bytes. An answer echoes
// its call's id, so an id must be small and simple, never a document or
// an array a peer could make huge or deep.
func plainID(v bsoncore.Value) bool {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeObjectID:
		return true
	case bsoncore.TypeString:
		s, ok := v.StringValueOK()
		return ok && len(s) <= maxIDString
	}
	return false
}

// maxTime reads a maxTimeMS value: an int32 or int64 of milliseconds, at
// least 0.
func maxTime(v bsoncore.Value) (time.Duration, bool) {
	var ms int64
	switch v.Type {
	case bsoncore.TypeInt32:
		ms = int64(v.Int32())
	case bsoncore.TypeInt64:
		ms = v.Int64()
	default:
		return 0, false
	}
	if ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

func appendID(dst []byte, id bson.RawValue) []byte {
	if id.Type == 0 {
		return dst
	}
	return append(appendHeader(dst, bsoncore.Type(id.Type), "id"), id.Value...)
}

// ParseMessage parses a BSON document into a Message. A malformed
// document, or one that is not a message, gives an *Error of kind
// BadMessage. The Message shares doc's bytes.
//
// An id that is not a plain scalar (an integer, a double, an ObjectId, or
// a string of at most 256 bytes) is BadMessage, and the Message has no id,
// so that no answer echoes it. A call with a top-level field other than
// call, id, noreply and maxTimeMS is BadMessage, as is a maxTimeMS that is
// not a non-negative int32 or int64.
//
// The document is read in one pass: each element is checked as it is read,
// and the call document and its argument array are checked as a whole; the
// arguments themselves are checked as they are decoded.
func ParseMessage(doc []byte) (Message, error) {
	var m Message
	rem, ok := elements(doc)
	if !ok {
		return m, errorf(BadMessage, "malformed BSON document")
	}
	var body, id, maxTimeMS bsoncore.Value
	var unknown []byte
	for len(rem) > 0 {
		key, v, r, ok := readElement(rem)
		if !ok {
			return m, errorf(BadMessage, "malformed BSON element")
		}
		rem = r
		switch string(key) {
		case "call":
			m.Kind, body = KindCall, v
		case "reply":
			m.Kind, body = KindReply, v
		case "error":
			m.Kind, body = KindError, v
		case "info":
			m.Kind, body = KindInfo, v
		case "id":
			id = v
		case "noreply":
			m.NoReply = v.Type == bsoncore.TypeBoolean && v.Boolean()
		case "maxTimeMS":
			maxTimeMS = v
		default:
			if unknown == nil {
				unknown = key
			}
		}
	}
	if id.Type != 0 {
		if !plainID(id) {
			return m, errorf(BadMessage, "id is %v: want an integer, a double, an ObjectId or a string of at most %d bytes", id.Type, maxIDString)
		}
		m.ID = bson.RawValue{Type: bson.Type(id.Type), Value: id.Data}
	}
	if maxTimeMS.Type != 0 {
		if m.MaxTime, ok = maxTime(maxTimeMS); !ok {
			return m, errorf(BadMessage, "maxTimeMS is %v: want a non-negative int32 or int64", maxTimeMS.Type)
		}
	}
	switch m.Kind {
	case KindCall:
		if unknown != nil {
			return m, errorf(BadMessage, "unknown field %q in a call: a call has call, id, noreply and maxTimeMS", session.Bound(string(unknown)))
		}
		return m, parseCall(&m, body)
	case KindReply:
		m.Value = bson.RawValue{Type: bson.Type(body.Type), Value: body.Data}
	case KindError:
		d, ok := body.DocumentOK()
		if !ok {
			return m, errorf(BadMessage, "error is %v, not a document", body.Type)
		}
		m.Err = &Error{Message: stringField(d, "message"), Detail: stringField(d, "detail")}
	case KindInfo:
		d, ok := body.DocumentOK()
		if !ok {
			return m, errorf(BadMessage, "info is %v, not a document", body.Type)
		}
		m.Info = bson.Raw(d)
	default:
		return m, errorf(BadMessage, "no call, reply, error or info in the message")
	}
	return m, nil
}

// elements returns the elements of the BSON document or array b, between
// its length and its terminating NUL, if its length is all of b.
func elements(b []byte) ([]byte, bool) {
	if len(b) < 5 || int64(int32(binary.LittleEndian.Uint32(b))) != int64(len(b)) || b[len(b)-1] != 0 {
		return nil, false
	}
	return b[4 : len(b)-1], true
}

// readElement reads the element at the start of b: its key, its value, whose
// length is checked against b, and the rest of b.
func readElement(b []byte) (key []byte, v bsoncore.Value, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, v, nil, false
	}
	n := bytes.IndexByte(b[1:], 0)
	if n < 0 {
		return nil, v, nil, false
	}
	v, rest, ok = bsoncore.ReadValue(b[n+2:], bsoncore.Type(b[0]))
	return b[1 : n+1], v, rest, ok
}

// parseCall reads the call document body into m: the first funcname and
// arguments, as a lookup would find them.
func parseCall(m *Message, body bsoncore.Value) error {
	d, ok := body.DocumentOK()
	if !ok {
		return errorf(BadMessage, "call is %v, not a document", body.Type)
	}
	rem, ok := elements(d)
	if !ok {
		return errorf(BadMessage, "malformed call document")
	}
	var name, args bsoncore.Value
	for len(rem) > 0 {
		key, v, r, ok := readElement(rem)
		if !ok {
			return errorf(BadMessage, "malformed call document")
		}
		rem = r
		switch {
		case name.Type == 0 && string(key) == "funcname":
			name = v
		case args.Type == 0 && string(key) == "arguments":
			args = v
		}
	}
	if name.Type == 0 {
		return errorf(BadMessage, "call without funcname")
	}
	if m.Func, ok = name.StringValueOK(); !ok {
		return errorf(BadMessage, "funcname is %v, not a string", name.Type)
	}
	if args.Type == 0 || args.Type == bsoncore.TypeNull {
		return nil // no arguments
	}
	a, ok := args.ArrayOK()
	if !ok {
		return errorf(BadMessage, "arguments is %v, not an array", args.Type)
	}
	if _, ok := elements(a); !ok {
		return errorf(BadMessage, "malformed arguments array")
	}
	m.Args = bson.RawArray(a)
	return nil
}

func stringField(d bsoncore.Document, key string) string {
	s, _ := d.Lookup(key).StringValueOK()
	return s
}
