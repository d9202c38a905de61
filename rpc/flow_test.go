package rpc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/rpc/internal/looptest"
	"github.com/twistgo/twist/twisttest"
)

// producer returns the producer c's server registered on its transport.
func (c *conn) producer() internet.PushProducer {
	c.t.Helper()
	p, ok := c.tr.Producer().(internet.PushProducer)
	if !ok || !c.tr.Streaming() {
		c.t.Fatalf("registered producer %v (streaming %v), want a streaming one", c.tr.Producer(), c.tr.Streaming())
	}
	return p
}

// wantState fails unless c's transport is in the producer state want.
func (c *conn) wantState(want twisttest.ProducerState) {
	c.t.Helper()
	if got := c.tr.ProducerState(); got != want {
		c.t.Fatalf("transport %v, want %v", got, want)
	}
}

func TestServerIsItsTransportsStreamingProducer(t *testing.T) {
	c := connect(t, testServer(t))
	if c.producer() != c.p.(internet.PushProducer) {
		t.Fatalf("registered producer %v, want the protocol", c.tr.Producer())
	}
	c.tr.LoseConnection() // calls ConnectionLost
	if c.tr.Producer() != nil {
		t.Fatal("still registered after ConnectionLost")
	}
}

func TestFullOutputPausesReading(t *testing.T) {
	c := connect(t, testServer(t))
	c.producer().PauseProducing() // the output queue passed its high-water mark
	c.wantState(twisttest.Paused)
	if ms := c.send(call(t, 1, "add", 1, 2)); len(ms) != 0 {
		t.Fatalf("answered while paused: %+v", ms)
	}
	c.producer().ResumeProducing()
	c.wantState(twisttest.Producing)
	if ms := c.take(); len(ms) != 1 || idOf(t, ms[0]) != 1 || reply(t, ms[0]) != int32(3) {
		t.Fatalf("answers %+v", ms)
	}
}

// Calls are taken again only once neither the output queue nor the
// outstanding calls hold them back, whichever clears first.
func TestCallsResumeWhenNeitherReasonHolds(t *testing.T) {
	for _, tc := range []struct {
		name        string
		outputFirst bool
	}{
		{"output drains first", true},
		{"calls finish first", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ds := asyncServer(t, WithMaxPending(1))
			c := connect(t, s)
			c.send(call(t, 1, "later", 1), call(t, 2, "later", 2))
			if len(*ds) != 1 {
				t.Fatalf("%d calls made, want 1 at the cap", len(*ds))
			}
			c.producer().PauseProducing()
			c.wantState(twisttest.Paused)
			first, second := func() { c.producer().ResumeProducing() }, func() { (*ds)[0].Callback(1) }
			if !tc.outputFirst {
				first, second = second, first
			}
			first()
			if len(*ds) != 1 {
				t.Fatal("a held call ran while one reason holds")
			}
			second()
			c.wantState(twisttest.Producing)
			if len(*ds) != 2 {
				t.Fatal("the held call did not run once neither reason holds")
			}
			if ms := c.take(); len(ms) != 1 || idOf(t, ms[0]) != 1 {
				t.Fatalf("answers %+v", ms)
			}
		})
	}
}

// Every kind of call counts toward the limit while its Deferred has not
// fired: calls are held back at the limit, the messages read meanwhile
// wait, and each call that finishes lets one more in.
func TestOutstandingCallsHoldCalls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		call    func(i int) []byte
		answers int
	}{
		{"with an id", func(i int) []byte { return call(t, i, "later", i) }, 3},
		{"without an id", func(i int) []byte { return call(t, nil, "later", i) }, 3},
		{"without a reply", func(i int) []byte { return noreply(t, "later", i) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ds := asyncServer(t, WithMaxPending(2))
			c := connect(t, s)
			c.send(tc.call(0), tc.call(1), tc.call(2))
			if len(*ds) != 2 {
				t.Fatalf("%d calls made, want 2 before calls are held", len(*ds))
			}
			(*ds)[0].Callback(0)
			if len(*ds) != 3 {
				t.Fatalf("%d calls made, want the third once the first finished", len(*ds))
			}
			(*ds)[1].Callback(1)
			(*ds)[2].Callback(2)
			c.wantState(twisttest.Producing)
			if ms := c.take(); len(ms) != tc.answers {
				t.Fatalf("%d answers, want %d: %+v", len(ms), tc.answers, ms)
			}
		})
	}
}

// A connection at the pending cap reads on, so that a peer that closes is
// noticed, until 64 KiB of calls wait: then it pauses its transport.
func TestHeldCallsPauseReadingPastABound(t *testing.T) {
	s, ds := asyncServer(t, WithMaxPending(1))
	c := connect(t, s)
	c.send(call(t, 0, "later", 0))
	one := call(t, 1, "now", 1)
	sent := 0
	for ; sent < 64<<10; sent += len(one) {
		c.wantState(twisttest.Producing)
		c.send(one)
	}
	c.wantState(twisttest.Paused)
	if len(*ds) != 1 {
		t.Fatalf("%d calls made, want 1", len(*ds))
	}
	(*ds)[0].Callback(0)
	c.wantState(twisttest.Producing)
	if ms := c.take(); len(ms) != 1+sent/len(one) {
		t.Fatalf("%d answers, want %d", len(ms), 1+sent/len(one))
	}
}

func TestTooLargeUnregistersBeforeClosing(t *testing.T) {
	s := testServer(t, WithMaxMessageSize(64), WithLogger(newLogger(io.Discard)))
	p := s.Factory().BuildProtocol(nil)
	tr := &looptest.CloseSpy{}
	p.ConnectionMade(tr)
	p.DataReceived(call(t, nil, "upper", strings.Repeat("x", 100)))
	tr.WantClosedUnregistered(t)
}

// A transport that stops its producer is left alone: the StringTransport
// panics on a resume after StopProducing, which would fail the call's
// Deferred.
func TestStopProducingStopsReadingForGood(t *testing.T) {
	s, ds := asyncServer(t, WithMaxPending(1))
	c := connect(t, s)
	c.send(call(t, 1, "later", 1))
	c.producer().StopProducing()
	c.wantState(twisttest.Stopped)
	d := (*ds)[0]
	d.Callback(1)
	twisttest.SuccessResultOf(t, d) // not the panic of a resume
	c.wantState(twisttest.Stopped)
}

// readFrame reads one message from r into buf, which it returns grown.
func readFrame(r io.Reader, buf []byte) (Message, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return Message{}, buf, err
	}
	buf = slices.Grow(buf[:0], int(binary.BigEndian.Uint32(size[:])))[:binary.BigEndian.Uint32(size[:])]
	if _, err := io.ReadFull(r, buf); err != nil {
		return Message{}, buf, err
	}
	m, err := ParseMessage(buf)
	return m, buf, err
}

// A client that pipelines far more answers than the output limit without
// reading them is slowed down, not disconnected: reading pauses while its
// answers wait, and every answer arrives once it reads.
func TestPipeliningClientIsSlowedDownNotCut(t *testing.T) {
	const calls, size = 50_000, 1000 // 50 MB of answers, past the 16 MiB limit
	s := NewServer()
	if err := s.Register("pad", func(n int) string { return strings.Repeat("x", n) }); err != nil {
		t.Fatal(err)
	}
	paused, lost := make(chan struct{}, 1), make(chan error, 1)
	_, addr := looptest.Serve(t, looptest.Watch(s.Factory(), paused, lost))
	c := looptest.Dial(t, addr)
	var in []byte
	for i := range calls {
		in = append(in, call(t, i, "pad", size)...)
	}
	written := make(chan error, 1)
	go func() {
		_, err := c.Write(in)
		written <- err
	}()
	select {
	case <-paused:
	case err := <-lost:
		t.Fatalf("connection lost before the server paused: %v", err)
	}
	r := bufio.NewReader(c)
	var buf []byte
	for i := range calls {
		m, b, err := readFrame(r, buf)
		if buf = b; err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if idOf(t, m) != int64(i) || reply(t, m) != strings.Repeat("x", size) {
			t.Fatalf("answer %d: id %v, %v %v", i, m.ID, m.Kind, m.Err)
		}
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		t.Fatalf("connection lost: %v", err)
	default:
	}
}

// Calls answered by Deferreds that fire later pause reading once the
// maximum is outstanding, over a real connection: the server never runs a
// call while the maximum is outstanding, and every call is answered.
func TestOutstandingCallsPauseReadingOverTCP(t *testing.T) {
	const maxPending, calls = 100, 5000 // past the 64 KiB a held connection reads on
	held := looptest.NewHeld(maxPending, calls)
	s := NewServer(WithMaxPending(maxPending))
	if err := s.Register("later", func(n int) *deferred.Deferred { return held.Call() }); err != nil {
		t.Fatal(err)
	}
	paused, lost := make(chan struct{}, 1), make(chan error, 1)
	loop, addr := looptest.Serve(t, looptest.Watch(s.Factory(), paused, lost))
	c := looptest.Dial(t, addr)
	var in []byte
	for i := range calls {
		in = append(in, call(t, i, "later", i)...)
	}
	go func() { _, _ = c.Write(in) }()
	answered := make(chan error, 1)
	go func() {
		seen := make([]bool, calls)
		r := bufio.NewReader(c)
		var buf []byte
		for range calls {
			m, b, err := readFrame(r, buf)
			if buf = b; err != nil {
				answered <- err
				return
			}
			id, ok := m.ID.AsInt64OK()
			if !ok || id < 0 || id >= calls || seen[id] || m.Kind != KindReply {
				answered <- fmt.Errorf("bad or repeated answer %+v", m)
				return
			}
			seen[id] = true
		}
		answered <- nil
	}()
	held.Drain(t, loop, paused, lost, answered)
}
