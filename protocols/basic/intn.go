package basic

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/twistgo/twist/internet"
)

// DefaultMaxStringLength is the longest string accepted when a string
// receiver's MaxLength is zero (Twisted's MAX_LENGTH of 99999).
const DefaultMaxStringLength = 99999

// ErrStringTooLong is returned by SendString for a string too long for the
// length prefix (Twisted's StringTooLongError).
var ErrStringTooLong = errors.New("basic: string too long for its length prefix")

// A StringHandler handles the strings of a string receiver.
type StringHandler interface {
	// StringReceived is called with each string, without its framing. s is
	// valid only during the call.
	StringReceived(s []byte)
}

// A LengthLimitExceededHandler is a StringHandler that handles a length
// prefix over MaxLength itself instead of closing the connection.
type LengthLimitExceededHandler interface {
	// LengthLimitExceeded is called with the length prefix as soon as it is
	// read. The string is never delivered, and the receiver ignores all
	// further input, having lost track of where strings start.
	LengthLimitExceeded(length uint64)
}

// IntStringReceiver is a protocol that receives strings, each prefixed by its
// length as an unsigned big-endian integer of type P (Twisted's
// IntNStringReceiver). Use it through Int32StringReceiver,
// Int16StringReceiver and Int8StringReceiver: embed one in a protocol and set
// Handler to that protocol.
//
// Each string goes to Handler.StringReceived. A length prefix over MaxLength
// goes to Handler.LengthLimitExceeded if the handler has that method;
// otherwise the connection is closed.
//
// It is a PushProducer of its strings: PauseProducing stops their delivery and
// pauses the transport; ResumeProducing resumes both, delivering first what
// arrived meanwhile.
type IntStringReceiver[P uint8 | uint16 | uint32] struct {
	internet.BaseProtocol
	// Handler receives the strings. It must be set before data arrives.
	Handler StringHandler
	// MaxLength is the longest string accepted; 0 means
	// DefaultMaxStringLength.
	MaxLength int

	in     stream
	broken bool
	flow
	prefix [4]byte
	out    seqWriter
}

// Int32StringReceiver receives strings prefixed by a 4-byte length
// (Twisted's Int32StringReceiver).
type Int32StringReceiver = IntStringReceiver[uint32]

// Int16StringReceiver receives strings prefixed by a 2-byte length
// (Twisted's Int16StringReceiver).
type Int16StringReceiver = IntStringReceiver[uint16]

// Int8StringReceiver receives strings prefixed by a 1-byte length
// (Twisted's Int8StringReceiver).
type Int8StringReceiver = IntStringReceiver[uint8]

// prefixSize returns the length of the prefix in bytes.
func (r *IntStringReceiver[P]) prefixSize() int { return bits.Len64(uint64(^P(0))) / 8 }

func (r *IntStringReceiver[P]) maxLength() int {
	if r.MaxLength <= 0 {
		return DefaultMaxStringLength
	}
	return r.MaxLength
}

// DataReceived parses data into strings for the Handler.
func (r *IntStringReceiver[P]) DataReceived(data []byte) {
	if !r.in.begin(data) {
		return
	}
	size, max := r.prefixSize(), r.maxLength()
	defer r.in.end(2 * (size + max))
	if r.Handler == nil {
		panic(noHandler("IntStringReceiver"))
	}
	for !r.paused && !r.broken {
		prefix, ok := r.in.peek(size)
		if !ok {
			return
		}
		var n uint64
		switch size {
		case 1:
			n = uint64(prefix[0])
		case 2:
			n = uint64(binary.BigEndian.Uint16(prefix))
		default:
			n = uint64(binary.BigEndian.Uint32(prefix))
		}
		if n > uint64(max) {
			r.lengthLimitExceeded(n)
			return
		}
		msg, ok := r.in.peek(size + int(n))
		if !ok {
			return
		}
		r.in.skip(len(msg))
		r.Handler.StringReceived(msg[size:])
	}
}

func (r *IntStringReceiver[P]) lengthLimitExceeded(n uint64) {
	r.broken = true
	r.in.discard()
	if h, ok := r.Handler.(LengthLimitExceededHandler); ok {
		h.LengthLimitExceeded(n)
		return
	}
	loseConnection(r.Transport)
}

// SendString writes s prefixed by its length. It returns an error wrapping
// ErrStringTooLong, and writes nothing, if the length does not fit the prefix.
func (r *IntStringReceiver[P]) SendString(s []byte) error {
	if uint64(len(s)) > uint64(^P(0)) {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrStringTooLong, len(s), uint64(^P(0)))
	}
	binary.BigEndian.PutUint32(r.prefix[:], uint32(len(s)))
	return r.out.write(r.Transport, r.prefix[4-r.prefixSize():], s)
}

// Paused reports whether the receiver is paused or stopped.
func (r *IntStringReceiver[P]) Paused() bool { return r.paused }

// PauseProducing stops the delivery of strings and pauses the transport.
func (r *IntStringReceiver[P]) PauseProducing() { r.pause(r.Transport) }

// ResumeProducing resumes the transport and the delivery of strings,
// starting with those that arrived while paused.
func (r *IntStringReceiver[P]) ResumeProducing() {
	r.resume(r.Transport)
	r.DataReceived(nil)
}

// StopProducing stops the delivery of strings for good, and stops the
// transport.
func (r *IntStringReceiver[P]) StopProducing() { r.stop(r.Transport) }
