package basic

import (
	"bytes"
	"fmt"

	"github.com/twistgo/twist/internet"
)

// stream is the input a receiver has not processed yet: buf[off:], bytes kept
// from earlier calls, followed by data[pos:], the rest of the data of the
// DataReceived call in progress. Parsing straight from data is what keeps the
// steady state free of copies; buf only holds what must outlive a call: a
// partial message, bounded by the receiver's limit, or the input that arrived
// while the receiver was paused.
type stream struct {
	buf  []byte
	off  int
	data []byte
	pos  int
	busy bool

	// last is the chunk most recently taken whole by take, and lastEnd its
	// end in buf (fromBuf) or data: unread uses them to step back over a
	// tail of it instead of copying.
	last    []byte
	lastEnd int
	fromBuf bool
}

// begin starts processing data. If the receiver is already processing, further
// up the stack (a handler fed it more data), data joins the end of the input,
// for that call to process, and begin returns false.
func (s *stream) begin(data []byte) bool {
	if s.busy {
		s.buf = append(s.buf, s.data[s.pos:]...)
		s.pos = len(s.data)
		s.buf = append(s.buf, data...)
		return false
	}
	s.busy = true
	s.data, s.pos = data, 0
	return true
}

// end finishes the call that begin started: what is left of data is copied to
// buf, since data is about to be reused. A buffer left empty but larger than
// retain, grown by a pause or a push back, is released.
func (s *stream) end(retain int) {
	if s.off > 0 {
		n := copy(s.buf, s.buf[s.off:])
		s.buf, s.off = s.buf[:n], 0
	}
	if s.pos < len(s.data) {
		s.buf = append(s.buf, s.data[s.pos:]...)
	}
	if len(s.buf) == 0 && cap(s.buf) > retain {
		s.buf = nil
	}
	s.data, s.pos, s.last = nil, 0, nil
	s.busy = false
}

// len returns the number of unprocessed bytes.
func (s *stream) len() int { return len(s.buf) - s.off + len(s.data) - s.pos }

// pull moves up to n bytes from the front of data to the end of buf and
// returns the pending bytes of buf.
func (s *stream) pull(n int) []byte {
	n = min(n, len(s.data)-s.pos)
	s.buf = append(s.buf, s.data[s.pos:s.pos+n]...)
	s.pos += n
	return s.buf[s.off:]
}

// peek returns the next n bytes as one slice without consuming them, or false
// if fewer are available. It copies only bytes that straddle buf and data.
func (s *stream) peek(n int) ([]byte, bool) {
	head := s.buf[s.off:]
	if len(head) == 0 {
		if len(s.data)-s.pos < n {
			return nil, false
		}
		return s.data[s.pos : s.pos+n], true
	}
	if len(head) < n {
		head = s.pull(n - len(head))
		if len(head) < n {
			return nil, false
		}
	}
	return head[:n], true
}

// skip consumes n bytes that peek returned.
func (s *stream) skip(n int) {
	if s.off < len(s.buf) {
		s.off += n
	} else {
		s.pos += n
	}
}

// nextByte consumes and returns the next byte, if there is one.
func (s *stream) nextByte() (byte, bool) {
	if s.off < len(s.buf) {
		s.off++
		return s.buf[s.off-1], true
	}
	if s.pos < len(s.data) {
		s.pos++
		return s.data[s.pos-1], true
	}
	return 0, false
}

// take consumes and returns the next contiguous chunk: the pending bytes of
// buf if there are any, else the rest of data.
func (s *stream) take() []byte {
	if s.fromBuf = s.off < len(s.buf); s.fromBuf {
		s.last, s.off = s.buf[s.off:], len(s.buf)
		s.lastEnd = s.off
	} else {
		s.last, s.pos = s.data[s.pos:], len(s.data)
		s.lastEnd = s.pos
	}
	return s.last
}

// takeAll consumes and returns all the unprocessed input as one slice,
// copying data into buf only if both hold some.
func (s *stream) takeAll() []byte {
	if s.off < len(s.buf) {
		s.pull(len(s.data) - s.pos)
	}
	return s.take()
}

// discard drops all the unprocessed input and returns it, copied.
func (s *stream) discard() []byte {
	var out []byte
	if n := s.len(); n > 0 {
		out = make([]byte, 0, n)
		out = append(append(out, s.buf[s.off:]...), s.data[s.pos:]...)
	}
	s.drop()
	return out
}

// drop drops all the unprocessed input.
func (s *stream) drop() { s.off, s.pos = len(s.buf), len(s.data) }

// unread puts b back at the front of the input. When b is a tail of the chunk
// take returned last and nothing was consumed or added since, that is only a
// step back; otherwise b is copied.
func (s *stream) unread(b []byte) {
	last, n := s.last, len(b)
	if n <= len(last) && &last[len(last)-n] == &b[0] {
		if s.fromBuf && s.off == s.lastEnd {
			s.off -= n
			s.last, s.lastEnd = last[:len(last)-n], s.off
			return
		}
		if !s.fromBuf && s.pos == s.lastEnd && s.off == len(s.buf) {
			s.pos -= n
			s.last, s.lastEnd = last[:len(last)-n], s.pos
			return
		}
	}
	nb := make([]byte, 0, n+s.len())
	nb = append(append(append(nb, b...), s.buf[s.off:]...), s.data[s.pos:]...)
	s.buf, s.off, s.pos, s.last = nb, 0, len(s.data), nil
}

type lineStatus int

const (
	lineIncomplete lineStatus = iota
	lineFound
	lineTooLong
)

// nextLine consumes and returns the next line, without its delimiter. It
// reports lineTooLong, consuming nothing, for a line longer than max and for
// max+len(delim) bytes without a delimiter (fewer might end in a partial
// delimiter), and lineIncomplete when the line has not all arrived.
func (s *stream) nextLine(delim []byte, max int) ([]byte, lineStatus) {
	i := s.index(delim)
	if i < 0 {
		if s.len() >= max+len(delim) {
			return nil, lineTooLong
		}
		return nil, lineIncomplete
	}
	if i > max {
		return nil, lineTooLong
	}
	return s.line(i, len(delim)), lineFound
}

// index returns the index of delim in the unprocessed input, or -1.
func (s *stream) index(delim []byte) int {
	head, tail := s.buf[s.off:], s.data[s.pos:]
	if len(head) == 0 {
		return bytes.Index(tail, delim)
	}
	if i := bytes.Index(head, delim); i >= 0 {
		return i
	}
	return indexAcross(head, tail, delim)
}

// line consumes the next n bytes and the delimiter of length d after them,
// and returns the n bytes as one slice.
func (s *stream) line(n, d int) []byte {
	head, tail := s.buf[s.off:], s.data[s.pos:]
	end := n + d
	switch {
	case len(head) == 0:
		s.pos += end
		return tail[:n]
	case end <= len(head):
		s.off += end
		return head[:n]
	}
	s.pull(end - len(head))
	line := s.buf[s.off : s.off+n]
	s.off = len(s.buf)
	return line
}

// dropLines consumes every complete line, leaving only the partial one at
// the end of the input.
func (s *stream) dropLines(delim []byte) {
	for i := s.index(delim); i >= 0; i = s.index(delim) {
		s.line(i, len(delim))
	}
}

// indexAcross returns the index of delim in head followed by tail, or -1,
// given that head does not contain delim.
func indexAcross(head, tail, delim []byte) int {
	if d := len(delim); d > 1 {
		// A delimiter that starts in head ends in the first d-1 bytes of tail.
		var small [32]byte
		t := max(0, len(head)-(d-1))
		join := append(append(small[:0], head[t:]...), tail[:min(len(tail), d-1)]...)
		if i := bytes.Index(join, delim); i >= 0 {
			return t + i
		}
	}
	if i := bytes.Index(tail, delim); i >= 0 {
		return len(head) + i
	}
	return -1
}

// disconnecter is implemented by transports that tell whether they are
// closing, as Twisted's transports do with their disconnecting attribute.
type disconnecter interface {
	Disconnecting() bool
}

// abortWith closes t at once with reason, if the protocol has a transport:
// with AbortConnectionWith if t is an internet.ReasonAborter, else with
// AbortConnection.
func abortWith(t internet.Transport, reason error) {
	switch t := t.(type) {
	case nil:
	case internet.ReasonAborter:
		t.AbortConnectionWith(reason)
	default:
		t.AbortConnection()
	}
}

// loseConnection closes t, if the protocol has one.
func loseConnection(t internet.Transport) {
	if t != nil {
		t.LoseConnection()
	}
}

// seqWriter writes a message as a few buffers with one WriteSequence, without
// allocating the list of buffers each time.
type seqWriter struct {
	bufs [3][]byte
}

func (w *seqWriter) write(t internet.Transport, parts ...[]byte) error {
	n := copy(w.bufs[:], parts)
	err := t.WriteSequence(w.bufs[:n])
	clear(w.bufs[:n]) // do not keep the caller's message alive
	return err
}

// flow is the pause state of a receiver that is also the producer of its
// input (Twisted's _PauseableMixin): pausing the receiver pauses its
// transport, and input that arrives while paused waits in the receiver.
type flow struct {
	paused bool
}

func (f *flow) pause(t internet.Transport) {
	f.paused = true
	if t != nil {
		t.PauseProducing()
	}
}

func (f *flow) resume(t internet.Transport) {
	f.paused = false
	if t != nil {
		t.ResumeProducing()
	}
}

func (f *flow) stop(t internet.Transport) {
	f.paused = true
	if t != nil {
		t.StopProducing()
	}
}

// noHandler is the panic of a receiver whose Handler field was not set.
func noHandler(receiver string) string {
	return fmt.Sprintf("basic: %s.Handler is nil: set it to the protocol that embeds the %[1]s", receiver)
}

// The receivers' PartialMessage methods (policies.MessageState): they let a
// read time-out tell a peer that stopped in the middle of a message from an
// idle one. Input held by a paused receiver waits on the receiver, not on
// the peer, so it does not count.

// PartialMessage reports whether the start of a line (or of raw data not
// yet delivered) is buffered, waiting for the rest.
func (r *LineReceiver) PartialMessage() bool { return !r.paused && r.in.len() > 0 }

// PartialMessage reports whether the start of a line is buffered, waiting
// for the rest.
func (r *LineOnlyReceiver) PartialMessage() bool { return r.in.len() > 0 }

// PartialMessage reports whether the start of a string (or of its length
// prefix) is buffered, waiting for the rest. A receiver that stopped reading
// after an overlong prefix has none.
func (r *IntStringReceiver[P]) PartialMessage() bool {
	return !r.paused && !r.broken && r.in.len() > 0
}

// PartialMessage reports whether the start of a netstring is buffered or
// parsed, waiting for the rest. A receiver that failed has none.
func (r *NetstringReceiver) PartialMessage() bool {
	return r.err == nil && (r.digits > 0 || r.inPayload || r.in.len() > 0)
}
