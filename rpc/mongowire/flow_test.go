package mongowire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/looptest"
	"github.com/twistgo/twist/twisttest"
)

// wantState fails unless f's transport is in the producer state want.
func (f *fixture) wantState(want twisttest.ProducerState) {
	f.t.Helper()
	if got := f.tr.ProducerState(); got != want {
		f.t.Fatalf("transport %v, want %v", got, want)
	}
}

// addCommand is the OP_MSG {add: [1, 2]} with the given request id.
func addCommand(t testing.TB, requestID int32) []byte {
	return command(t, requestID, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}})
}

func TestConnIsItsTransportsStreamingProducer(t *testing.T) {
	f := newFixture(t)
	if p, ok := f.tr.Producer().(*conn); !ok || p != f.proto || !f.tr.Streaming() {
		t.Fatalf("registered producer %v (streaming %v), want the conn", f.tr.Producer(), f.tr.Streaming())
	}
	f.proto.ConnectionLost(internet.ErrConnectionDone)
	if f.tr.Producer() != nil {
		t.Fatal("still registered after ConnectionLost")
	}
}

func TestFullOutputPausesReading(t *testing.T) {
	f := newFixture(t)
	f.proto.PauseProducing() // the output queue passed its high-water mark
	f.wantState(twisttest.Paused)
	f.proto.DataReceived(addCommand(t, 1))
	if n := len(f.tr.Value()); n != 0 {
		t.Fatalf("%d bytes written while paused", n)
	}
	f.proto.ResumeProducing()
	f.wantState(twisttest.Producing)
	if rs := replies(t, f.tr); len(rs) != 1 || rs[0].responseTo != 1 || rs[0].doc.Lookup("reply").Int32() != 3 {
		t.Fatalf("replies %v", rs)
	}
}

// Calls are taken again only once neither the output queue nor the
// outstanding calls hold them back, whichever clears first.
func TestCallsResumeWhenNeitherReasonHolds(t *testing.T) {
	later := func(i int32) []byte {
		return command(t, i, bson.D{{Key: "later", Value: bson.A{}}, {Key: "$db", Value: "test"}})
	}
	for _, tc := range []struct {
		name        string
		outputFirst bool
	}{
		{"output drains first", true},
		{"calls finish first", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, WithMaxPending(1))
			f.proto.DataReceived(append(later(1), later(2)...))
			if len(f.later) != 1 {
				t.Fatalf("%d calls made, want 1 at the cap", len(f.later))
			}
			f.proto.PauseProducing()
			f.wantState(twisttest.Paused)
			first, second := f.proto.ResumeProducing, func() { f.later[0].Callback(1) }
			if !tc.outputFirst {
				first, second = second, first
			}
			first()
			if len(f.later) != 1 {
				t.Fatal("a held call ran while one reason holds")
			}
			second()
			f.wantState(twisttest.Producing)
			if len(f.later) != 2 {
				t.Fatal("the held call did not run once neither reason holds")
			}
			if rs := replies(t, f.tr); len(rs) != 1 || rs[0].responseTo != 1 {
				t.Fatalf("replies %v", rs)
			}
		})
	}
}

// Every kind of call counts toward the one limit while its Deferred has
// not fired, find included: calls are held back at the limit, the
// messages read meanwhile wait, and each call that finishes lets one more
// in.
func TestOutstandingCallsHoldCalls(t *testing.T) {
	later := bson.D{{Key: "later", Value: bson.A{}}, {Key: "$db", Value: "test"}}
	for _, tc := range []struct {
		name    string
		call    func(i int32) []byte
		replies int
	}{
		{"OP_MSG", func(i int32) []byte { return command(t, i, later) }, 3},
		{"moreToCome", func(i int32) []byte { return opMsgFrame(i, flagMoreToCome, kind0(t, later)) }, 0},
		{"OP_QUERY", func(i int32) []byte {
			return opQueryMsg(t, i, "test.rpc", bson.D{{Key: "funcname", Value: "later"}})
		}, 3},
		{"find", func(i int32) []byte {
			return command(t, i, bson.D{{Key: "find", Value: "rpc"}, {Key: "filter", Value: bson.D{{Key: "funcname", Value: "later"}}}, {Key: "$db", Value: "test"}})
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, WithMaxPending(2))
			f.proto.DataReceived(append(append(tc.call(1), tc.call(2)...), tc.call(3)...))
			if len(f.later) != 2 {
				t.Fatalf("%d calls made, want 2 before calls are held", len(f.later))
			}
			if f.proto.Pending() != 2 {
				t.Fatalf("Pending() = %d, want 2", f.proto.Pending())
			}
			f.later[0].Callback(0)
			if len(f.later) != 3 {
				t.Fatalf("%d calls made, want the third once the first finished", len(f.later))
			}
			f.later[1].Callback(1)
			f.later[2].Callback(2)
			f.wantState(twisttest.Producing)
			if rs := replies(t, f.tr); len(rs) != tc.replies {
				t.Fatalf("%d replies, want %d: %v", len(rs), tc.replies, rs)
			}
		})
	}
}

func TestProtocolErrorUnregistersBeforeClosing(t *testing.T) {
	p := NewServer(rpc.NewServer(), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))).BuildProtocol(nil)
	tr := &looptest.CloseSpy{}
	p.ConnectionMade(tr)
	p.DataReceived(binary.LittleEndian.AppendUint32(nil, 3)) // shorter than a header
	tr.WantClosedUnregistered(t)
}

// A transport that stops its producer is left alone: the StringTransport
// panics on a resume after LoseConnection, which would fail the call's
// Deferred.
func TestStopProducingClosesForGood(t *testing.T) {
	f := newFixture(t, WithMaxPending(1))
	f.proto.DataReceived(command(t, 1, bson.D{{Key: "later", Value: bson.A{}}, {Key: "$db", Value: "test"}}))
	f.proto.StopProducing()
	if !f.tr.Disconnecting() {
		t.Fatal("connection left open")
	}
	d := f.later[0]
	d.Callback(1)
	twisttest.SuccessResultOf(t, d)
}

// A client that pipelines far more replies than the output limit without
// reading them is slowed down, not disconnected: reading pauses while its
// replies wait, and every reply arrives once it reads.
func TestPipeliningClientIsSlowedDownNotCut(t *testing.T) {
	const calls, size = 50_000, 1000 // 50 MB of replies, past the 16 MiB limit
	r := rpc.NewServer()
	must(t, r.Register("pad", func(n int) string { return strings.Repeat("x", n) }))
	paused, lost := make(chan struct{}, 1), make(chan error, 1)
	_, addr := looptest.Serve(t, looptest.Watch(NewServer(r), paused, lost))
	c := looptest.Dial(t, addr)
	var in []byte
	for i := range int32(calls) {
		in = append(in, command(t, i+1, bson.D{{Key: "pad", Value: bson.A{size}}, {Key: "$db", Value: "test"}})...)
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
	br := bufio.NewReader(c)
	want := strings.Repeat("x", size)
	for i := range int32(calls) {
		msg, err := readMessage(br)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		doc := bson.Raw(msg[headerLen+5:])
		if readHeader(msg).responseTo != i+1 || doc.Lookup("reply").StringValue() != want {
			t.Fatalf("reply %d: %+v %v", i, readHeader(msg), doc.Lookup("ok"))
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

// readMessage reads one whole message from r.
func readMessage(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(size[:])
	if n < headerLen {
		return nil, fmt.Errorf("message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, size[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// Calls answered by Deferreds that fire later pause reading once the
// maximum is outstanding, over a real connection: the server never runs a
// call while the maximum is outstanding, and every call is answered.
func TestOutstandingCallsPauseReadingOverTCP(t *testing.T) {
	const maxPending, calls = 100, 5000 // past the 64 KiB a held connection reads on
	held := looptest.NewHeld(maxPending, calls)
	r := rpc.NewServer()
	must(t, r.Register("later", held.Call))
	paused, lost := make(chan struct{}, 1), make(chan error, 1)
	loop, addr := looptest.Serve(t, looptest.Watch(NewServer(r, WithMaxPending(maxPending)), paused, lost))
	c := looptest.Dial(t, addr)
	var in []byte
	for i := range int32(calls) {
		in = append(in, command(t, i+1, bson.D{{Key: "later", Value: bson.A{}}, {Key: "$db", Value: "test"}})...)
	}
	go func() { _, _ = c.Write(in) }()
	answered := make(chan error, 1)
	go func() {
		seen := make([]bool, calls+1)
		br := bufio.NewReader(c)
		for range calls {
			msg, err := readMessage(br)
			if err != nil {
				answered <- err
				return
			}
			id := readHeader(msg).responseTo
			if id < 1 || id > calls || seen[id] || bson.Raw(msg[headerLen+5:]).Lookup("ok").Double() != 1 {
				answered <- fmt.Errorf("bad or repeated reply %+v", readHeader(msg))
				return
			}
			seen[id] = true
		}
		answered <- nil
	}()
	held.Drain(t, loop, paused, lost, answered)
}
