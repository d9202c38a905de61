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
// length as an unsigned integer of type P, big-endian unless LittleEndian is
// set (Twisted's IntNStringReceiver, whose structFormat chooses the byte
// order). Use it through Int32StringReceiver, Int16StringReceiver and
// Int8StringReceiver: embed one in a protocol and set Handler to that
// protocol.
//
// Each string goes to Handler.StringReceived. A length prefix over MaxLength
// goes to Handler.LengthLimitExceeded if the handler has that method;
// otherwise the connection is closed.
//
// It is a PushProducer of its strings: PauseProducing stops their delivery and
// pauses the transport; ResumeProducing resumes both, delivering first what
// arrived meanwhile. HoldStrings stops their delivery alone.
//
// Twisted's recvd attribute, the bytes received and not yet parsed, is
// Recvd here, and its length Buffered.
type IntStringReceiver[P uint8 | uint16 | uint32] struct {
	internet.BaseProtocol
	// Handler receives the strings. It must be set before data arrives.
	Handler StringHandler
	// MaxLength is the longest string accepted; 0 means
	// DefaultMaxStringLength. With PrefixIncluded it bounds the length
	// field, prefix included.
	MaxLength int
	// LittleEndian makes the length prefix little-endian, as in MongoDB's
	// wire protocol.
	LittleEndian bool
	// PrefixIncluded makes the length prefix count its own bytes too, as
	// MongoDB's messageLength does. A length shorter than the prefix is
	// then over the limit. Strings are delivered and sent without the
	// prefix either way.
	PrefixIncluded bool
	// MinLength is the shortest length prefix accepted, as a protocol
	// whose messages have a fixed header needs: a shorter one is over the
	// limit too, as soon as it is read.
	MinLength int

	in     stream
	broken bool
	held   bool
	flow
	prefix [4]byte
	out    seqWriter
}

// retainBuffer is the largest input buffer a receiver keeps between reads:
// a bigger one, grown by one big string, is given back once the string is
// delivered, so that an idle connection holds little.
const retainBuffer = 64 << 10

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
	defer r.end()
	if r.Handler == nil {
		panic(noHandler("IntStringReceiver"))
	}
	for !r.paused && !r.held && !r.broken {
		// Whole strings in data, with nothing kept from earlier reads, are
		// the steady state: they are framed in place, without peek's
		// cases.
		rest := r.in.data[r.in.pos:]
		direct := r.in.off == len(r.in.buf)
		if direct && len(rest) < size {
			return // all taken, or the start of a prefix, which end keeps
		}
		prefix := rest
		if !direct {
			var ok bool
			if prefix, ok = r.in.peek(size); !ok {
				return
			}
		}
		n := r.length(prefix)
		whole := n + uint64(size)
		if r.PrefixIncluded {
			whole = n
		}
		if n > uint64(max) || whole < uint64(size) || n < uint64(r.MinLength) {
			r.lengthLimitExceeded(n)
			return
		}
		var msg []byte
		if direct && uint64(len(rest)) >= whole {
			msg = rest[:whole]
			r.in.pos += int(whole)
		} else {
			var ok bool
			if msg, ok = r.in.peek(int(whole)); !ok {
				return
			}
			r.in.skip(len(msg))
		}
		r.Handler.StringReceived(msg[size:])
	}
}

// end ends a DataReceived call and gives back a buffer grown past
// retainBuffer once what it holds fits a small one.
func (r *IntStringReceiver[P]) end() {
	r.in.end(retainBuffer)
	if cap(r.in.buf) > retainBuffer && len(r.in.buf)-r.in.off <= retainBuffer/2 {
		r.in.buf = append(make([]byte, 0, retainBuffer/2), r.in.buf[r.in.off:]...)
		r.in.off = 0
	}
}

// length decodes a length prefix, at the start of prefix.
func (r *IntStringReceiver[P]) length(prefix []byte) uint64 {
	switch r.prefixSize() {
	case 1:
		return uint64(prefix[0])
	case 2:
		if r.LittleEndian {
			return uint64(binary.LittleEndian.Uint16(prefix))
		}
		return uint64(binary.BigEndian.Uint16(prefix))
	}
	if r.LittleEndian {
		return uint64(binary.LittleEndian.Uint32(prefix))
	}
	return uint64(binary.BigEndian.Uint32(prefix))
}

// Recvd returns a copy of the bytes received and not yet delivered
// (Twisted's recvd): the start of a string still arriving, and any strings
// held back by a pause.
func (r *IntStringReceiver[P]) Recvd() []byte {
	out := make([]byte, 0, r.in.len())
	return append(append(out, r.in.buf[r.in.off:]...), r.in.data[r.in.pos:]...)
}

// Buffered returns how many bytes were received and not yet delivered.
func (r *IntStringReceiver[P]) Buffered() int { return r.in.len() }

// HoldStrings stops the delivery of strings while the transport goes on
// reading, so that a close by the peer is still noticed; what arrives
// meanwhile waits in the receiver, where Buffered counts it, and a caller
// that holds for long pauses the transport once enough has arrived.
func (r *IntStringReceiver[P]) HoldStrings() { r.held = true }

// ReleaseStrings undoes HoldStrings and delivers the strings that arrived
// meanwhile, unless the receiver is paused.
func (r *IntStringReceiver[P]) ReleaseStrings() {
	r.held = false
	r.DataReceived(nil)
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
	size := r.prefixSize()
	n := uint64(len(s))
	if r.PrefixIncluded {
		n += uint64(size)
	}
	if n > uint64(^P(0)) {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrStringTooLong, len(s), uint64(^P(0)))
	}
	if r.LittleEndian {
		binary.LittleEndian.PutUint32(r.prefix[:], uint32(n))
		return r.out.write(r.Transport, r.prefix[:size], s)
	}
	binary.BigEndian.PutUint32(r.prefix[:], uint32(n))
	return r.out.write(r.Transport, r.prefix[4-size:], s)
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
