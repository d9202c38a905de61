package session

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/twisttest"
)

// echo is a codec that answers each message with itself, framed, at once
// or, for a message "later", when the test fires its Deferred.
type echo struct {
	Conn
	later []*deferred.Deferred
}

func (e *echo) Message(msg []byte) {
	if string(msg) == "later" {
		d := deferred.New()
		e.later = append(e.later, d)
		e.Await(d, true, func(r any) []byte { return frame(r.(string)) })
		return
	}
	e.Ready(frame(string(msg)), true)
}

func (e *echo) TooLarge(uint64) {}

func frame(s string) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...) }

// writes counts the writes made to it; with err set, they fail with it.
type writes struct {
	twisttest.StringTransportWithDisconnection
	n   int
	err error
}

func (w *writes) Write(b []byte) (int, error) {
	w.n++
	if w.err != nil {
		return 0, w.err
	}
	return w.StringTransport.Write(b)
}

func newEcho(t *testing.T, log io.Writer, maxOutput int) (*echo, *writes) {
	return newEchoIn(t, log, maxOutput, nil)
}

// newEchoIn is newEcho with the connection in group g.
func newEchoIn(t *testing.T, log io.Writer, maxOutput int, g *Group) (*echo, *writes) {
	e := &echo{}
	e.Init(e, &Config{Name: "test", MaxMessage: 1 << 20, MaxPending: 100, MaxOutput: maxOutput, Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})), Group: g})
	tr := &writes{}
	tr.Protocol = e
	e.ConnectionMade(tr)
	return e, tr
}

// The answers produced by one read go out in one write, in order.
func TestAnswersOfOneReadInOneWrite(t *testing.T) {
	e, tr := newEcho(t, io.Discard, 1<<20)
	e.DataReceived(append(append(frame("a"), frame("later")...), frame("b")...))
	if tr.n != 1 || !bytes.Equal(tr.Value(), frame("a")) {
		t.Fatalf("%d writes of %q, want a alone: b waits for the answer before it", tr.n, tr.Value())
	}
	e.later[0].Callback("L")
	if tr.n != 2 || !bytes.Equal(tr.Value(), append(append(frame("a"), frame("L")...), frame("b")...)) {
		t.Fatalf("%d writes of %q", tr.n, tr.Value())
	}
	tr.Clear()
	tr.n = 0
	e.DataReceived(append(frame("c"), frame("d")...))
	if tr.n != 1 || !bytes.Equal(tr.Value(), append(frame("c"), frame("d")...)) {
		t.Fatalf("%d writes of %q", tr.n, tr.Value())
	}
}

// Output written while the transport's queue is full is bounded by
// MaxOutput: past it the connection is closed, with a logged reason.
func TestQueuedOutputBounded(t *testing.T) {
	var log bytes.Buffer
	e, tr := newEcho(t, &log, 1000)
	e.DataReceived(append(frame("later"), frame("later")...))
	e.PauseProducing() // the peer stopped reading
	e.later[0].Callback(strings.Repeat("x", 600))
	if tr.Disconnecting() {
		t.Fatal("closed under the cap")
	}
	e.later[1].Callback(strings.Repeat("x", 600))
	if !tr.Disconnecting() {
		t.Fatal("1208 bytes queued for a peer that does not read, past a cap of 1000, and the connection stays open")
	}
	if !strings.Contains(log.String(), "does not read") {
		t.Fatalf("log %q", log.String())
	}
}

// Answers to a peer that reset its connection are counted in the group's
// Unsent, one by one, batched or not, and only the first failure of the
// connection is logged, at INFO: a reset with many calls in flight makes
// one line, not one per answer.
func TestUnsentAnswersCountedAndLoggedOnce(t *testing.T) {
	var log bytes.Buffer
	g := &Group{}
	e, tr := newEchoIn(t, &log, 1<<20, g)
	e.DataReceived(append(append(frame("later"), frame("later")...), frame("later")...))
	tr.err = syscall.ECONNRESET
	for i, d := range e.later {
		d.Callback("L")
		if got := g.Unsent(); got != uint64(i+1) {
			t.Fatalf("after %d answers, Unsent() = %d", i+1, got)
		}
	}
	e.DataReceived(append(frame("a"), frame("b")...)) // one write of two answers
	if got := g.Unsent(); got != 5 {
		t.Fatalf("after a batch of two more, Unsent() = %d, want 5", got)
	}
	if tr.n != 4 {
		t.Errorf("%d writes, want 4", tr.n)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], `msg="test: cannot send answer"`) || !strings.Contains(lines[0], "connection reset by peer") {
		t.Fatalf("log\n%s\nwant one INFO line", log.String())
	}
	// Another connection logs its own first failure.
	e2, tr2 := newEchoIn(t, &log, 1<<20, g)
	tr2.err = syscall.EPIPE
	e2.DataReceived(frame("c"))
	if got := g.Unsent(); got != 6 || strings.Count(log.String(), "cannot send answer") != 2 {
		t.Fatalf("Unsent() = %d, log\n%s", got, log.String())
	}
}
