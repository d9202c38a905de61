package basic_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// lineTester is Twisted's LineTester: it acts on some of the lines it gets.
type lineTester struct {
	basic.LineReceiver
	received [][]byte
	length   int
	later    []func() // calls Twisted's test schedules with callLater(0, ...)
}

func newLineTester() (*lineTester, *twisttest.StringTransport) {
	p := &lineTester{}
	p.Handler = p
	p.Delimiter = []byte("\n")
	p.MaxLength = 64
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	return p, tr
}

func (p *lineTester) LineReceived(line []byte) {
	p.received = append(p.received, bytes.Clone(line))
	s := string(line)
	switch {
	case s == "":
		p.SetRawMode()
	case s == "pause":
		p.PauseProducing()
		p.later = append(p.later, p.ResumeProducing)
	case s == "rawpause":
		p.PauseProducing()
		p.SetRawMode()
		p.received = append(p.received, []byte{})
		p.later = append(p.later, p.ResumeProducing)
	case s == "stop":
		p.StopProducing()
	case strings.HasPrefix(s, "len "):
		p.length, _ = strconv.Atoi(s[4:])
	case strings.HasPrefix(s, "produce"):
		p.Transport.RegisterProducer(p, false)
	case strings.HasPrefix(s, "unproduce"):
		p.Transport.UnregisterProducer()
	}
}

// RawDataReceived reads the number of bytes a "len" line announced.
func (p *lineTester) RawDataReceived(data []byte) {
	n := min(p.length, len(data))
	last := len(p.received) - 1
	p.received[last] = append(p.received[last], data[:n]...)
	if p.length -= n; p.length == 0 {
		p.SetLineMode(data[n:])
	}
}

// LineLengthExceeded goes on after the first MaxLength+1 bytes.
func (p *lineTester) LineLengthExceeded(line []byte) {
	if len(line) > p.MaxLength+1 {
		p.SetLineMode(line[p.MaxLength+1:])
	}
}

func (p *lineTester) runLater() {
	calls := p.later
	p.later = nil
	for _, f := range calls {
		f()
	}
}

func TestLineReceiverBuffer(t *testing.T) {
	input := "len 10\n\n0123456789len 5\n\n1234\nlen 20\nfoo 123\n\n0123456789\n012345678len 0\nfoo 5\n\n" +
		strings.Repeat("1234567890", 7) + "\nlen 1\n\na"
	want := show([][]byte{[]byte("len 10"), []byte("0123456789"), []byte("len 5"), []byte("1234\n"),
		[]byte("len 20"), []byte("foo 123"), []byte("0123456789\n012345678"),
		[]byte("len 0"), []byte("foo 5"), {}, []byte("67890"), []byte("len 1"), []byte("a")})
	for name, chunks := range splits([]byte(input)) {
		p, _ := newLineTester()
		deliver(p.DataReceived, chunks)
		if got := show(p.received); got != want {
			t.Errorf("%s: received %s\nwant %s", name, got, want)
		}
	}
}

func TestLineReceiverPausing(t *testing.T) {
	input := "twiddle1\ntwiddle2\npause\ntwiddle3\n"
	for name, chunks := range splits([]byte(input)) {
		p, tr := newLineTester()
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), `["twiddle1" "twiddle2" "pause"]`; got != want {
			t.Errorf("%s: paused, received %s, want %s", name, got, want)
		}
		if !p.Paused() || tr.ProducerState() != twisttest.Paused {
			t.Errorf("%s: Paused() %v, transport %v", name, p.Paused(), tr.ProducerState())
		}
		p.runLater()
		if got, want := show(p.received), `["twiddle1" "twiddle2" "pause" "twiddle3"]`; got != want {
			t.Errorf("%s: resumed, received %s, want %s", name, got, want)
		}
		if p.Paused() || tr.ProducerState() != twisttest.Producing {
			t.Errorf("%s: after resuming, Paused() %v, transport %v", name, p.Paused(), tr.ProducerState())
		}
	}
}

func TestLineReceiverRawPausing(t *testing.T) {
	input := "twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n"
	for name, chunks := range splits([]byte(input)) {
		p, _ := newLineTester()
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), `["twiddle1" "twiddle2" "len 5" "rawpause" ""]`; got != want {
			t.Errorf("%s: paused, received %s, want %s", name, got, want)
		}
		p.runLater()
		if got, want := show(p.received), `["twiddle1" "twiddle2" "len 5" "rawpause" "12345" "twiddle3"]`; got != want {
			t.Errorf("%s: resumed, received %s, want %s", name, got, want)
		}
	}
}

func TestLineReceiverStopProducing(t *testing.T) {
	input := "twiddle1\ntwiddle2\nstop\nmore\nstuff\n"
	for name, chunks := range splits([]byte(input)) {
		p, tr := newLineTester()
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), `["twiddle1" "twiddle2" "stop"]`; got != want {
			t.Errorf("%s: received %s, want %s", name, got, want)
		}
		if tr.ProducerState() != twisttest.Stopped {
			t.Errorf("%s: transport %v, want stopped", name, tr.ProducerState())
		}
	}
}

func TestLineReceiverAsProducer(t *testing.T) {
	p, tr := newLineTester()
	p.DataReceived([]byte("produce\nhello world\n"))
	if tr.Producer() != p || tr.Streaming() {
		t.Fatalf("registered producer %v (streaming %v), want the receiver as a pull producer", tr.Producer(), tr.Streaming())
	}
	p.DataReceived([]byte("unproduce\ngoodbye\n"))
	if got, want := show(p.received), `["produce" "hello world" "unproduce" "goodbye"]`; got != want {
		t.Fatalf("received %s, want %s", got, want)
	}
	if tr.Producer() != nil {
		t.Fatal("producer still registered")
	}
}

// clearingReceiver clears the line buffer on each line, without a transport.
type clearingReceiver struct {
	basic.LineReceiver
	line, rest []byte
}

func (p *clearingReceiver) LineReceived(line []byte) {
	p.line = bytes.Clone(line)
	p.rest = p.ClearLineBuffer()
}

func TestLineReceiverClearLineBuffer(t *testing.T) {
	p := &clearingReceiver{}
	p.Handler = p
	p.DataReceived([]byte("foo\r\nbar\r\nbaz"))
	if string(p.line) != "foo" || string(p.rest) != "bar\r\nbaz" {
		t.Fatalf("line %q, rest %q", p.line, p.rest)
	}
	p.DataReceived([]byte("quux\r\n"))
	if string(p.line) != "quux" || len(p.rest) != 0 {
		t.Fatalf("line %q, rest %q: the cleared data came back", p.line, p.rest)
	}
}

func TestLineReceiverClearLineBufferOutsideDataReceived(t *testing.T) {
	p, _ := newLineTester()
	p.DataReceived([]byte("partial"))
	if got := p.ClearLineBuffer(); string(got) != "partial" {
		t.Fatalf("ClearLineBuffer = %q", got)
	}
	p.DataReceived([]byte("line\n"))
	if got, want := show(p.received), `["line"]`; got != want {
		t.Fatalf("received %s, want %s", got, want)
	}
}

// flipper switches to raw mode after each line, and back to line mode after
// one raw byte (Twisted's FlippingLineTester).
type flipper struct {
	basic.LineReceiver
	lines [][]byte
}

func (p *flipper) LineReceived(line []byte) {
	p.lines = append(p.lines, bytes.Clone(line))
	p.SetRawMode()
}

func (p *flipper) RawDataReceived(data []byte) { p.SetLineMode(data[1:]) }

func TestLineReceiverModeSwitchesDoNotRecurse(t *testing.T) {
	const n = 100000
	p := &flipper{}
	p.Handler = p
	p.Delimiter = []byte("\n")
	p.DataReceived(bytes.Repeat([]byte("x\nx"), n))
	if got := bytes.Join(p.lines, nil); !bytes.Equal(got, bytes.Repeat([]byte("x"), n)) {
		t.Fatalf("lines join to %d bytes, want %d x", len(got), n)
	}
}

// rawInjector feeds a line of its own when it leaves raw mode.
type rawInjector struct {
	basic.LineReceiver
	received []string
}

func (p *rawInjector) LineReceived(line []byte) {
	p.received = append(p.received, "line "+string(line))
	if string(line) == "raw" {
		p.SetRawMode()
	}
}

func (p *rawInjector) RawDataReceived(data []byte) {
	p.received = append(p.received, "raw "+string(data))
	p.SetLineMode([]byte("injected\r\n"))
}

func TestLineReceiverSetLineModeWithOtherData(t *testing.T) {
	for name, chunks := range splits([]byte("raw\r\nXY")) {
		p := &rawInjector{}
		p.Handler = p
		deliver(p.DataReceived, chunks)
		got := strings.Join(p.received, "|")
		if !strings.HasPrefix(got, "line raw|raw X") || !strings.HasSuffix(got, "|line injected") {
			t.Errorf("%s: received %s", name, got)
		}
	}
}

func TestLineReceiverSetLineModeOutsideDataReceived(t *testing.T) {
	p, _ := newLineTester()
	p.SetRawMode()
	p.SetLineMode([]byte("a\nb\n"))
	if got, want := show(p.received), `["a" "b"]`; got != want {
		t.Fatalf("received %s, want %s", got, want)
	}
}

// plainLines is a LineReceiver handler with no optional methods.
type plainLines struct {
	basic.LineReceiver
	received [][]byte
}

func (p *plainLines) LineReceived(line []byte) { p.received = append(p.received, bytes.Clone(line)) }

func newPlainLines() (*plainLines, *twisttest.StringTransport) {
	p := &plainLines{}
	p.Handler = p
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	return p, tr
}

func TestLineReceiverSplitsLines(t *testing.T) {
	for _, tc := range []struct {
		name, delim, input, want string
	}{
		{"crlf", "", "hello\r\nworld\r\n\r\nlast\r\npartial", `["hello" "world" "" "last"]`},
		{"lone cr is data", "", "a\rb\r\n\r\r\n", `["a\rb" "\r"]`},
		{"one-byte delimiter", "\n", "a\nb\n\nc", `["a" "b" ""]`},
		{"long delimiter with a false start", "<END>", "a<EN<END>b<END><E<END>", `["a<EN" "b" "<E"]`},
		{"overlapping delimiter", "aab", "xaaab", `["xa"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, chunks := range splits([]byte(tc.input)) {
				p, tr := newPlainLines()
				p.Delimiter = []byte(tc.delim)
				deliver(p.DataReceived, chunks)
				if got := show(p.received); got != tc.want {
					t.Errorf("%s: received %s, want %s", name, got, tc.want)
				}
				if tr.Disconnecting() {
					t.Errorf("%s: disconnected", name)
				}
			}
		})
	}
}

func TestLineReceiverMaximumLineLength(t *testing.T) {
	p, tr := newPlainLines()
	p.DataReceived([]byte(strings.Repeat("x", basic.DefaultMaxLineLength+1) + "\r\nr"))
	if !tr.Disconnecting() || len(p.received) != 0 {
		t.Fatalf("disconnecting %v, received %d lines: want the connection closed, no line", tr.Disconnecting(), len(p.received))
	}
}

func TestLineReceiverLineOfMaximumLengthIsAccepted(t *testing.T) {
	line := strings.Repeat("x", 10)
	for name, chunks := range splits([]byte(line + "\r\n" + line + "\r\n")) {
		p, tr := newPlainLines()
		p.MaxLength = 10
		deliver(p.DataReceived, chunks)
		if tr.Disconnecting() || len(p.received) != 2 {
			t.Errorf("%s: disconnecting %v, %d lines", name, tr.Disconnecting(), len(p.received))
		}
	}
}

func TestLineReceiverMaximumLineLengthPartialDelimiter(t *testing.T) {
	p, tr := newLineTester()
	p.MaxLength = 4
	line := []byte("xxx")
	p.DataReceived(line)
	p.DataReceived(p.Delimiter[:len(p.Delimiter)-1])
	p.DataReceived(append(p.Delimiter[len(p.Delimiter)-1:], line...))
	if tr.Disconnecting() || show(p.received) != `["xxx"]` {
		t.Fatalf("disconnecting %v, received %s", tr.Disconnecting(), show(p.received))
	}
}

func TestLineReceiverNotQuiteMaximumLineLengthUnfinished(t *testing.T) {
	p, tr := newPlainLines()
	p.DataReceived([]byte(strings.Repeat("x", basic.DefaultMaxLineLength) + "\r"))
	if tr.Disconnecting() {
		t.Fatal("disconnected on a line of MaxLength followed by part of the delimiter")
	}
	p.DataReceived([]byte("\n"))
	if tr.Disconnecting() || len(p.received) != 1 {
		t.Fatalf("disconnecting %v, %d lines", tr.Disconnecting(), len(p.received))
	}
}

func TestLineReceiverMaximumLineLengthRemaining(t *testing.T) {
	p, tr := newPlainLines()
	p.DataReceived([]byte(strings.Repeat("x", basic.DefaultMaxLineLength+len(basic.DefaultDelimiter))))
	if !tr.Disconnecting() {
		t.Fatal("not disconnected after MaxLength+len(delimiter) bytes without a delimiter")
	}
}

func TestLineReceiverStopsDeliveringWhenDisconnecting(t *testing.T) {
	for name, chunks := range splits([]byte("one\r\nquit\r\nthree\r\n")) {
		p := &quitter{}
		p.Handler = p
		tr := &twisttest.StringTransport{}
		p.ConnectionMade(tr)
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), `["one" "quit"]`; got != want {
			t.Errorf("%s: received %s, want %s", name, got, want)
		}
	}
}

// quitter closes the connection on the line "quit".
type quitter struct {
	basic.LineReceiver
	received [][]byte
}

func (p *quitter) LineReceived(line []byte) {
	p.received = append(p.received, bytes.Clone(line))
	switch string(line) {
	case "quit":
		p.Transport.LoseConnection()
	case "bad":
		p.AbortWith(errBadLine)
	}
}

func TestLineReceiverRawModeWithoutRawDataReceivedPanics(t *testing.T) {
	p, _ := newPlainLines()
	p.SetRawMode()
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "no RawDataReceived method") {
			t.Fatalf("panic %q", r)
		}
	}()
	p.DataReceived([]byte("foo"))
}

func TestLineReceiverWithoutHandlerPanics(t *testing.T) {
	var p basic.LineReceiver
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "LineReceiver.Handler is nil") {
			t.Fatalf("panic %q", r)
		}
	}()
	p.DataReceived([]byte("foo\r\n"))
}

func TestLineReceiverSendLine(t *testing.T) {
	p, tr := newPlainLines()
	p.SendLine([]byte("hello"))
	p.Delimiter = []byte("\n")
	p.SendLine([]byte("world"))
	if got := string(tr.Value()); got != "hello\r\nworld\n" {
		t.Fatalf("written %q", got)
	}
}

// longLineCatcher records overlong lines (Twisted's ExcessivelyLargeLineCatcher).
type longLineCatcher struct {
	basic.LineReceiver
	longLines [][]byte
}

func (p *longLineCatcher) LineReceived(line []byte) {}

func (p *longLineCatcher) LineLengthExceeded(line []byte) {
	p.longLines = append(p.longLines, bytes.Clone(line))
}

func TestLineReceiverLineLengthExceeded(t *testing.T) {
	const max = 6
	excessive := strings.Repeat("x", max*2+2)
	for _, tc := range []struct {
		name, input, want string
	}{
		{"long unended line", excessive, excessive},
		{"long line after short line", "x\r\n" + excessive, excessive},
		{"long line with delimiter", excessive + "\r\n" + excessive, excessive + "\r\n" + excessive},
		{"multiple long lines", excessive + "\r\n" + excessive + "\r\n", excessive + "\r\n" + excessive + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &longLineCatcher{}
			p.Handler = p
			p.MaxLength = max
			tr := &twisttest.StringTransport{}
			p.ConnectionMade(tr)
			p.DataReceived([]byte(tc.input))
			if got, want := show(p.longLines), show([][]byte{[]byte(tc.want)}); got != want {
				t.Fatalf("LineLengthExceeded got %s, want %s", got, want)
			}
			if tr.Disconnecting() {
				t.Fatal("the handler's LineLengthExceeded did not replace closing the connection")
			}
		})
	}
}

// consumer echoes each line and pauses itself (Twisted's ConsumingProtocol).
type consumer struct{ basic.LineReceiver }

func (p *consumer) LineReceived(line []byte) {
	p.Transport.Write(line)
	p.PauseProducing()
}

func TestLineReceiverPauseResume(t *testing.T) {
	p := &consumer{}
	p.Handler = p
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	steps := []struct {
		name    string
		do      func()
		written string
		paused  bool
	}{
		{"partial line", func() { p.DataReceived([]byte("hello, ")) }, "", false},
		{"rest of the line", func() { p.DataReceived([]byte("world\r\n")) }, "hello, world", true},
		{"resume with nothing waiting", p.ResumeProducing, "hello, world", false},
		{"two lines", func() { p.DataReceived([]byte("hello\r\nworld\r\n")) }, "hello, worldhello", true},
		{"resume delivers the waiting line", p.ResumeProducing, "hello, worldhelloworld", true},
		{"line while paused", func() { p.DataReceived([]byte("goodbye\r\n")) }, "hello, worldhelloworld", true},
		{"resume delivers it", p.ResumeProducing, "hello, worldhelloworldgoodbye", true},
		{"resume with nothing left", p.ResumeProducing, "hello, worldhelloworldgoodbye", false},
	}
	for _, s := range steps {
		s.do()
		if got := string(tr.Value()); got != s.written {
			t.Fatalf("%s: written %q, want %q", s.name, got, s.written)
		}
		wantState := twisttest.Producing
		if s.paused {
			wantState = twisttest.Paused
		}
		if p.Paused() != s.paused || tr.ProducerState() != wantState {
			t.Fatalf("%s: Paused() %v, transport %v; want %v", s.name, p.Paused(), tr.ProducerState(), s.paused)
		}
	}
}

// onlyLines is Twisted's LineOnlyTester.
type onlyLines struct {
	basic.LineOnlyReceiver
	received [][]byte
}

func (p *onlyLines) LineReceived(line []byte) {
	p.received = append(p.received, bytes.Clone(line))
	switch string(line) {
	case "quit":
		p.Transport.LoseConnection()
	case "bad":
		p.AbortWith(errBadLine)
	}
}

func newOnlyLines() (*onlyLines, *twisttest.StringTransport) {
	p := &onlyLines{}
	p.Handler = p
	p.Delimiter = []byte("\n")
	p.MaxLength = 64
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	return p, tr
}

func TestLineOnlyReceiverBuffer(t *testing.T) {
	input := "foo\n    bleakness\n    desolation\n    plastic forks\n"
	for name, chunks := range splits([]byte(input)) {
		p, _ := newOnlyLines()
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), `["foo" "    bleakness" "    desolation" "    plastic forks"]`; got != want {
			t.Errorf("%s: received %s, want %s", name, got, want)
		}
	}
}

func TestLineOnlyReceiverCRLF(t *testing.T) {
	for name, chunks := range splits([]byte("a\r\nb\r\n\r\nc")) {
		p, _ := newOnlyLines()
		p.Delimiter = nil
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), `["a" "b" ""]`; got != want {
			t.Errorf("%s: received %s, want %s", name, got, want)
		}
	}
}

func TestLineOnlyReceiverGreaterThanMaximumLineLength(t *testing.T) {
	p, tr := newOnlyLines()
	p.DataReceived([]byte(strings.Repeat("x", 64+1+1) + "\r\nr"))
	if !tr.Disconnecting() || len(p.received) != 0 {
		t.Fatalf("disconnecting %v, received %s", tr.Disconnecting(), show(p.received))
	}
}

func TestLineOnlyReceiverUnendedLineTooLong(t *testing.T) {
	p, tr := newOnlyLines()
	for range 64 {
		p.DataReceived([]byte("x"))
	}
	if tr.Disconnecting() {
		t.Fatal("disconnected at MaxLength bytes")
	}
	p.DataReceived([]byte("x"))
	if !tr.Disconnecting() {
		t.Fatal("not disconnected at MaxLength+1 bytes without a delimiter")
	}
}

// As Twisted's: the overlong line goes alone to LineLengthExceeded, the
// complete lines that came with it are dropped, and the partial line after
// them stays buffered, to be completed by the next data.
func TestLineOnlyReceiverOverlongLineAlone(t *testing.T) {
	for name, input := range map[string][]string{
		"one chunk":     {"short\n" + strings.Repeat("x", 10) + "\nnext\npart", "ial\n"},
		"line split":    {"short\nxxxxx", "xxxxx\nnext\npart", "ial\n"},
		"partial alone": {"short\n" + strings.Repeat("x", 10) + "\npart", "ial\n"},
	} {
		p := &lineOnlyCatcher{}
		p.Handler = p
		p.Delimiter = []byte("\n")
		p.MaxLength = 8
		tr := &twisttest.StringTransport{}
		p.ConnectionMade(tr)
		deliver(p.DataReceived, bytesOf(input))
		if got, want := show(p.long), `["xxxxxxxxxx"]`; got != want {
			t.Errorf("%s: LineLengthExceeded got %s, want %s", name, got, want)
		}
		if got, want := show(p.received), `["short" "partial"]`; got != want || tr.Disconnecting() {
			t.Errorf("%s: received %s (want %s), disconnecting %v", name, got, want, tr.Disconnecting())
		}
	}
}

// An unterminated buffer over MaxLength goes to LineLengthExceeded whole,
// and is dropped: the next line starts afresh.
func TestLineOnlyReceiverUnterminatedBufferToHandler(t *testing.T) {
	p := &lineOnlyCatcher{}
	p.Handler = p
	p.Delimiter = []byte("\n")
	p.MaxLength = 4
	p.ConnectionMade(&twisttest.StringTransport{})
	p.DataReceived([]byte("ok\nabc"))
	p.DataReceived([]byte("de"))
	p.DataReceived([]byte("fine\n"))
	if got, want := show(p.long), `["abcde"]`; got != want {
		t.Fatalf("LineLengthExceeded got %s, want %s", got, want)
	}
	if got, want := show(p.received), `["ok" "fine"]`; got != want {
		t.Fatalf("received %s, want %s", got, want)
	}
}

var errBadLine = errors.New("bad line")

// No line is delivered once the transport is closing, nor after a handler's
// AbortWith, which closes the transport with its reason at once (Twisted's
// lineReceived returning a reason) and drops the data that comes later.
func TestLineOnlyReceiverStopsDelivering(t *testing.T) {
	tests := []struct {
		input  string
		want   string
		reason error
	}{
		{"one\nquit\nthree\n", `["one" "quit"]`, nil},
		{"one\nbad\nthree\n", `["one" "bad"]`, errBadLine},
	}
	for _, tt := range tests {
		for name, chunks := range splits([]byte(tt.input)) {
			p, tr := newOnlyLines()
			deliver(p.DataReceived, chunks)
			if tt.reason != nil {
				p.DataReceived([]byte("four\n"))
			}
			if got := show(p.received); got != tt.want {
				t.Errorf("%q, %s: received %s, want %s", tt.input, name, got, tt.want)
			}
			if tr.Aborted() != (tt.reason != nil) || tr.Reason() != tt.reason {
				t.Errorf("%q, %s: aborted %v, reason %v", tt.input, name, tr.Aborted(), tr.Reason())
			}
		}
	}
}

// lineOnlyCatcher handles its own overlong lines.
type lineOnlyCatcher struct {
	onlyLines
	long [][]byte
}

func (p *lineOnlyCatcher) LineLengthExceeded(line []byte) { p.long = append(p.long, bytes.Clone(line)) }

func TestLineOnlyReceiverLineLengthExceededHandler(t *testing.T) {
	p := &lineOnlyCatcher{}
	p.Handler = p
	p.Delimiter = []byte("\n")
	p.MaxLength = 3
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	p.DataReceived([]byte("ok\ntoolong\nok\n"))
	p.DataReceived([]byte("ok\n"))
	if got, want := show(p.long), `["toolong"]`; got != want {
		t.Fatalf("LineLengthExceeded got %s, want %s", got, want)
	}
	if got, want := show(p.received), `["ok" "ok"]`; got != want || tr.Disconnecting() {
		t.Fatalf("received %s (want %s), disconnecting %v", got, want, tr.Disconnecting())
	}
}

func TestLineOnlyReceiverSendLine(t *testing.T) {
	p, tr := newOnlyLines()
	p.SendLine([]byte("hi"))
	if got := string(tr.Value()); got != "hi\n" {
		t.Fatalf("written %q", got)
	}
}

func TestLineOnlyReceiverWithoutHandlerPanics(t *testing.T) {
	var p basic.LineOnlyReceiver
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "LineOnlyReceiver.Handler is nil") {
			t.Fatalf("panic %q", r)
		}
	}()
	p.DataReceived([]byte("foo\r\n"))
}

// bytesOf returns the chunks as byte slices.
func bytesOf(chunks []string) [][]byte {
	out := make([][]byte, len(chunks))
	for i, c := range chunks {
		out[i] = []byte(c)
	}
	return out
}

// rawAborter aborts from RawDataReceived (Twisted's test_rawDataError) or
// from LineReceived.
type rawAborter struct {
	basic.LineReceiver
	lines []string
}

func (p *rawAborter) LineReceived(line []byte) {
	p.lines = append(p.lines, string(line))
	switch string(line) {
	case "raw":
		p.SetRawMode()
	case "bad":
		p.AbortWith(errBadLine)
	}
}

func (p *rawAborter) RawDataReceived(data []byte) { p.AbortWith(errBadLine) }

func TestLineReceiverAbortWith(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"line", "a\r\nbad\r\nc\r\n", "a,bad"},
		{"raw", "a\r\nraw\r\ndata\r\nmore", "a,raw"},
	}
	for _, tt := range tests {
		for name, chunks := range splits([]byte(tt.input)) {
			p := &rawAborter{}
			p.Handler = p
			tr := &twisttest.StringTransport{}
			p.ConnectionMade(tr)
			deliver(p.DataReceived, chunks)
			p.SetLineMode([]byte("later\r\n"))
			if got := strings.Join(p.lines, ","); got != tt.want {
				t.Errorf("%s, %s: lines %s, want %s", tt.name, name, got, tt.want)
			}
			if !tr.Aborted() || tr.Reason() != errBadLine {
				t.Errorf("%s, %s: aborted %v, reason %v", tt.name, name, tr.Aborted(), tr.Reason())
			}
		}
	}
}
