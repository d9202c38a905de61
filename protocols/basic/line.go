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
	// longer than the receiver's MaxLength, or when MaxLength plus the
	// delimiter's length bytes arrive without a delimiter. line holds all the
	// input the receiver had, starting with the overlong line: it may hold
	// more lines, or only the start of that one. The receiver drops it, and
	// goes on with the input that follows. line is valid only during the call.
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
// A line longer than MaxLength goes to Handler.LineLengthExceeded if the
// handler has that method; otherwise the connection is closed. No line is
// delivered once the transport is closing, if it can tell (as Twisted's
// disconnecting attribute: a Disconnecting() bool method).
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

	in  stream
	raw bool
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
	if !r.in.begin(data) {
		return
	}
	delim, max, retain := limits(r.Delimiter, r.MaxLength)
	defer r.in.end(retain)
	if r.Handler == nil {
		panic(noHandler("LineReceiver"))
	}
	dc, _ := r.Transport.(disconnecter)
	for !r.paused && r.in.len() > 0 {
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
// Each line goes to Handler.LineReceived. A line longer than MaxLength goes to
// Handler.LineLengthExceeded if the handler has that method; otherwise the
// connection is closed. No line is delivered once the transport is closing,
// if it can tell.
type LineOnlyReceiver struct {
	internet.BaseProtocol
	// Handler receives the lines. It must be set before data arrives.
	Handler LineHandler
	// Delimiter ends lines; empty means DefaultDelimiter.
	Delimiter []byte
	// MaxLength is the longest line accepted; 0 means DefaultMaxLineLength.
	MaxLength int

	in  stream
	out seqWriter
}

// DataReceived parses data into lines for the Handler.
func (r *LineOnlyReceiver) DataReceived(data []byte) {
	if !r.in.begin(data) {
		return
	}
	delim, max, retain := limits(r.Delimiter, r.MaxLength)
	defer r.in.end(retain)
	if r.Handler == nil {
		panic(noHandler("LineOnlyReceiver"))
	}
	dc, _ := r.Transport.(disconnecter)
	for dc == nil || !dc.Disconnecting() {
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

// SendLine writes line followed by the delimiter.
func (r *LineOnlyReceiver) SendLine(line []byte) error {
	return r.out.write(r.Transport, line, delimiterOr(r.Delimiter))
}
