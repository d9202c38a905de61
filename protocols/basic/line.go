package basic

import (
	"fmt"

	"github.com/twistgo/twist/internet"
)

const (
	// DefaultDelimiter ends lines when a receiver's Delimiter is empty.
	DefaultDelimiter = "\r\n"
	// DefaultMaxLineLength is the longest line accepted when a receiver's
	// MaxLength is zero.
	DefaultMaxLineLength = 16384
)

var defaultDelimiter = []byte(DefaultDelimiter)

// A LineHandler handles the lines of a LineReceiver or LineOnlyReceiver.
type LineHandler interface {
	// LineReceived is called with each line, without its delimiter. line is
	// valid only during the call.
	LineReceived(line []byte)
}

// A RawDataHandler is a LineHandler that also handles the data a
// LineReceiver receives in raw mode.
type RawDataHandler interface {
	// RawDataReceived is called with data received in raw mode, in chunks of
	// any size. data is valid only during the call.
	RawDataReceived(data []byte)
}

// A LineLengthExceededHandler is a LineHandler that handles overlong lines
// itself instead of closing the connection.
type LineLengthExceededHandler interface {
	// LineLengthExceeded is called, instead of LineReceived, when a line is
	// longer than the receiver's MaxLength, or when too many bytes arrive
	// without a delimiter. What line holds depends on the receiver, as in
	// Twisted: see LineReceiver and LineOnlyReceiver. line is valid only
	// during the call.
	LineLengthExceeded(line []byte)
}

// LineReceiver is a protocol that receives lines and, in raw mode, raw data
// (Twisted's LineReceiver): it is for line-oriented protocols such as SMTP,
// IRC or HTTP. Embed it in a protocol and set Handler to that protocol.
//
// In line mode, each line goes to Handler.LineReceived; SetRawMode switches to
// raw mode, where data goes to Handler.RawDataReceived until SetLineMode is
// called. Switching from inside a handler applies to the rest of the data
// being received.
//
// A line longer than MaxLength, or MaxLength plus the delimiter's length
// bytes without a delimiter, goes to Handler.LineLengthExceeded if the
// handler has that method; otherwise the connection is closed. What the
// handler gets is all the input the receiver had, starting with the overlong
// line: it may hold more lines, or only the start of that one. The receiver
// drops it, and goes on with the input that follows. No line is delivered
// once the transport is closing, if it can tell (as Twisted's disconnecting
// attribute: a Disconnecting() bool method). A handler that finds bad input
// calls AbortWith, as a Twisted handler returns a reason.
//
// LineReceiver is a PushProducer of its lines: PauseProducing stops the
// delivery of lines and raw data, and pauses the transport; ResumeProducing
// resumes both, delivering first what arrived meanwhile.
type LineReceiver struct {
	internet.BaseProtocol
	// Handler receives the lines. It must be set before data arrives.
	Handler LineHandler
	// Delimiter ends lines; empty means DefaultDelimiter.
	Delimiter []byte
	// MaxLength is the longest line accepted; 0 means DefaultMaxLineLength.
	MaxLength int

	in      stream
	raw     bool
	aborted bool
	flow
	out seqWriter
}

func delimiterOr(d []byte) []byte {
	if len(d) == 0 {
		return defaultDelimiter
	}
	return d
}

// limits returns the delimiter, the maximum line length, and the buffer
// capacity worth keeping between reads.
func limits(delimiter []byte, maxLength int) (delim []byte, max, retain int) {
	delim = delimiterOr(delimiter)
	max = maxLength
	if max <= 0 {
		max = DefaultMaxLineLength
	}
	return delim, max, 2 * (max + len(delim))
}

// DataReceived parses data into lines and raw data for the Handler.
func (r *LineReceiver) DataReceived(data []byte) {
	if r.aborted || !r.in.begin(data) {
		return
	}
	delim, max, retain := limits(r.Delimiter, r.MaxLength)
	defer r.in.end(retain)
	if r.Handler == nil {
		panic(noHandler("LineReceiver"))
	}
	dc, _ := r.Transport.(disconnecter)
	for !r.paused && !r.aborted && r.in.len() > 0 {
		if r.raw {
			r.rawDataReceived(r.in.take())
			continue
		}
		if dc != nil && dc.Disconnecting() {
			return
		}
		line, status := r.in.nextLine(delim, max)
		switch status {
		case lineIncomplete:
			return
		case lineTooLong:
			lineLengthExceeded(r.Handler, r.Transport, r.in.takeAll())
		case lineFound:
			r.Handler.LineReceived(line)
		}
	}
}

func (r *LineReceiver) rawDataReceived(data []byte) {
	h, ok := r.Handler.(RawDataHandler)
	if !ok {
		panic(fmt.Sprintf("basic: LineReceiver in raw mode, but its Handler (%T) has no RawDataReceived method", r.Handler))
	}
	h.RawDataReceived(data)
}

func lineLengthExceeded(h LineHandler, t internet.Transport, line []byte) {
	if h, ok := h.(LineLengthExceededHandler); ok {
		h.LineLengthExceeded(line)
		return
	}
	loseConnection(t)
}

// AbortWith stops the receiver for good: no more lines or raw data reach the
// Handler, the input not yet handled is dropped, and the connection is
// closed at once; the protocol's ConnectionLost gets reason if the transport
// is an internet.ReasonAborter, as *internet.Conn is. It is Twisted's
// lineReceived or rawDataReceived returning a reason. Call it from a handler
// that finds bad input, or from anywhere on the connection's loop.
func (r *LineReceiver) AbortWith(reason error) {
	r.aborted = true
	r.in.drop()
	abortWith(r.Transport, reason)
}

// SetRawMode switches to raw mode: further data goes to the Handler's
// RawDataReceived.
func (r *LineReceiver) SetRawMode() { r.raw = true }

// SetLineMode switches to line mode: further data is parsed into lines. extra
// is data to parse before any other, typically the part of the data given to
// RawDataReceived that the raw handler did not use:
//
//	func (p *P) RawDataReceived(data []byte) {
//		n := min(p.remaining, len(data))
//		p.body = append(p.body, data[:n]...)
//		if p.remaining -= n; p.remaining == 0 {
//			p.SetLineMode(data[n:])
//		}
//	}
//
// A tail of that data is handed back without copying; other extra data is
// copied. Do not pass extra data from LineReceived: the rest of the line
// data is still to come.
func (r *LineReceiver) SetLineMode(extra []byte) {
	r.raw = false
	if len(extra) == 0 {
		return
	}
	if r.in.busy {
		r.in.unread(extra)
		return
	}
	r.DataReceived(extra)
}

// ClearLineBuffer drops the data received but not yet handled, and returns a
// copy of it. From inside a handler, it is the rest of the data being
// received.
func (r *LineReceiver) ClearLineBuffer() []byte { return r.in.discard() }

// SendLine writes line followed by the delimiter.
func (r *LineReceiver) SendLine(line []byte) error {
	return r.out.write(r.Transport, line, delimiterOr(r.Delimiter))
}

// Paused reports whether the receiver is paused or stopped.
func (r *LineReceiver) Paused() bool { return r.paused }

// PauseProducing stops the delivery of lines and raw data, and pauses the
// transport.
func (r *LineReceiver) PauseProducing() { r.pause(r.Transport) }

// ResumeProducing resumes the transport and the delivery of lines and raw
// data, starting with those that arrived while paused.
func (r *LineReceiver) ResumeProducing() {
	r.resume(r.Transport)
	r.DataReceived(nil)
}

// StopProducing stops the delivery of lines and raw data for good, and stops
// the transport.
func (r *LineReceiver) StopProducing() { r.stop(r.Transport) }

// LineOnlyReceiver is a protocol that receives lines only (Twisted's
// LineOnlyReceiver): LineReceiver without raw mode and flow control, for
// protocols that need neither. Embed it in a protocol and set Handler to that
// protocol.
//
// Each line goes to Handler.LineReceived. Its limits are Twisted's, which
// differ from LineReceiver's:
//   - a line longer than MaxLength goes alone, without its delimiter, to
//     Handler.LineLengthExceeded; the complete lines that arrived with it
//     are dropped, and a partial line after them stays buffered;
//   - as soon as more than MaxLength bytes are buffered without a delimiter,
//     they go to Handler.LineLengthExceeded.
//
// A handler without LineLengthExceeded gets the connection closed instead.
// Twisted keeps an overlong unterminated buffer after LineLengthExceeded
// returns; LineOnlyReceiver drops it, so that a peer cannot grow it without
// bound when the handler keeps the connection open.
//
// No line is delivered once the transport is closing, if it can tell, or
// after AbortWith.
type LineOnlyReceiver struct {
	internet.BaseProtocol
	// Handler receives the lines. It must be set before data arrives.
	Handler LineHandler
	// Delimiter ends lines; empty means DefaultDelimiter.
	Delimiter []byte
	// MaxLength is the longest line accepted; 0 means DefaultMaxLineLength.
	MaxLength int

	in      stream
	aborted bool
	out     seqWriter
}

// DataReceived parses data into lines for the Handler.
func (r *LineOnlyReceiver) DataReceived(data []byte) {
	if r.aborted || !r.in.begin(data) {
		return
	}
	delim, max, retain := limits(r.Delimiter, r.MaxLength)
	defer r.in.end(retain)
	if r.Handler == nil {
		panic(noHandler("LineOnlyReceiver"))
	}
	dc, _ := r.Transport.(disconnecter)
	for {
		if r.aborted || dc != nil && dc.Disconnecting() {
			return
		}
		i := r.in.index(delim)
		if i < 0 {
			break
		}
		line := r.in.line(i, len(delim))
		if len(line) > max {
			lineLengthExceeded(r.Handler, r.Transport, line)
			r.in.dropLines(delim)
			return
		}
		r.Handler.LineReceived(line)
	}
	if r.in.len() > max {
		lineLengthExceeded(r.Handler, r.Transport, r.in.takeAll())
	}
}

// AbortWith stops the receiver for good, as LineReceiver.AbortWith does:
// it is Twisted's lineReceived returning a reason.
func (r *LineOnlyReceiver) AbortWith(reason error) {
	r.aborted = true
	r.in.drop()
	abortWith(r.Transport, reason)
}

// SendLine writes line followed by the delimiter.
func (r *LineOnlyReceiver) SendLine(line []byte) error {
	return r.out.write(r.Transport, line, delimiterOr(r.Delimiter))
}
