package session

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"strings"
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

// writes counts the writes made to it.
type writes struct {
	twisttest.StringTransportWithDisconnection
	n int
}

func (w *writes) Write(b []byte) (int, error) {
	w.n++
	return w.StringTransport.Write(b)
}

func newEcho(t *testing.T, log io.Writer, maxOutput int) (*echo, *writes) {
	e := &echo{}
	e.Init(e, &Config{Name: "test", MaxMessage: 1 << 20, MaxPending: 100, MaxOutput: maxOutput, Logger: slog.New(slog.NewTextHandler(log, nil))})
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
