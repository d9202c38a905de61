package basic

import (
	"strconv"

	"github.com/twistgo/twist/internet"
)

// NetstringParseError is the error of a NetstringReceiver that received data
// that is not a valid netstring (Twisted's NetstringParseError).
type NetstringParseError struct {
	// Reason says what was wrong.
	Reason string
}

func (e *NetstringParseError) Error() string { return "basic: invalid netstring: " + e.Reason }

// NetstringReceiver is a protocol that receives and sends netstrings
// (Twisted's NetstringReceiver): each string is sent as its length in
// decimal, a colon, the string and a comma, as in "5:hello,"
// (http://cr.yp.to/proto/netstrings.txt). Embed it in a protocol and set
// Handler to that protocol.
//
// Each string goes to Handler.StringReceived. Invalid input closes the
// connection, and Err tells why: a length with a leading zero or a non-digit,
// a length over MaxLength, or a string not followed by a comma. The receiver
// ignores all input after an error.
type NetstringReceiver struct {
	internet.BaseProtocol
	// Handler receives the strings. It must be set before data arrives.
	Handler StringHandler
	// MaxLength is the longest string accepted; 0 means
	// DefaultMaxStringLength.
	MaxLength int

	in stream
	// length is the length read so far, digits the number of its digits, and
	// inPayload whether its colon has been read.
	length, digits int
	inPayload      bool
	err            error
	header         [24]byte
	out            seqWriter
}

var comma = []byte{','}

// Err returns the *NetstringParseError that made the receiver close the
// connection, or nil.
func (r *NetstringReceiver) Err() error { return r.err }

// DataReceived parses data into netstrings for the Handler.
func (r *NetstringReceiver) DataReceived(data []byte) {
	if !r.in.begin(data) {
		return
	}
	max := r.MaxLength
	if max <= 0 {
		max = DefaultMaxStringLength
	}
	defer r.in.end(2 * (max + len(r.header)))
	if r.Handler == nil {
		panic(noHandler("NetstringReceiver"))
	}
	for r.err == nil {
		if r.inPayload {
			msg, ok := r.in.peek(r.length + 1)
			if !ok {
				return
			}
			if msg[r.length] != ',' {
				r.fail("the string is not followed by a comma")
				return
			}
			r.in.skip(len(msg))
			r.length, r.digits, r.inPayload = 0, 0, false
			r.Handler.StringReceived(msg[:len(msg)-1])
			continue
		}
		c, ok := r.in.nextByte()
		if !ok {
			return
		}
		switch {
		case c == ':' && r.digits > 0:
			r.inPayload = true
		case c < '0' || c > '9':
			r.fail("the length is not a decimal number followed by a colon")
		case r.digits == 1 && r.length == 0:
			r.fail("the length has a leading zero")
		case max < int(c-'0') || r.length > (max-int(c-'0'))/10: // length*10+digit > max, without overflow
			r.fail("the length is over the maximum of " + strconv.Itoa(max))
		default:
			r.length = r.length*10 + int(c-'0')
			r.digits++
		}
	}
}

// fail records why the input is invalid, drops the input and closes the
// connection.
func (r *NetstringReceiver) fail(reason string) {
	r.err = &NetstringParseError{Reason: reason}
	r.in.discard()
	loseConnection(r.Transport)
}

// SendString writes s as a netstring.
func (r *NetstringReceiver) SendString(s []byte) error {
	header := append(strconv.AppendInt(r.header[:0], int64(len(s)), 10), ':')
	return r.out.write(r.Transport, header, s, comma)
}
