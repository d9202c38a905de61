package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/rpc/internal/looptest"
	"github.com/twistgo/twist/twisttest"
)

// The regression tests of the RPC findings of issue 11, on the framed
// protocol; rpc/mongowire has those of the wire protocol.

// nestedArrays returns the argument array [[[...[]...]], 1]: its first
// argument is an array nested depth levels deep, 6 bytes a level.
func nestedArrays(depth int) bson.RawArray {
	b := make([]byte, 0, 6*depth+20)
	b = append(b, 0, 0, 0, 0) // the argument array
	starts := []int{0}
	for range depth {
		b = append(b, byte(bson.TypeArray), '0', 0)
		starts = append(starts, len(b))
		b = append(b, 0, 0, 0, 0)
	}
	b = b[:len(b)-4]                        // the innermost array is empty:
	b = append(b, 5, 0, 0, 0, 0)            // {} as bytes
	starts = starts[:len(starts)-1]         // and needs no length fixing
	for i := len(starts) - 1; i >= 1; i-- { // close every level but the outermost
		b = append(b, 0)
		binary.LittleEndian.PutUint32(b[starts[i]:], uint32(len(b)-starts[i]))
	}
	b = bsoncore.AppendInt32Element(b, "1", 1)
	b = append(b, 0)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// rawCall returns the frame of a call to name with the argument array args.
func rawCall(t testing.TB, id any, name string, args bson.RawArray) []byte {
	t.Helper()
	m := &Message{Kind: KindCall, Func: name, Args: args}
	if id != nil {
		typ, v, err := bson.MarshalValue(id)
		if err != nil {
			t.Fatal(err)
		}
		m.ID = bson.RawValue{Type: typ, Value: v}
	}
	doc, err := AppendMessage(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(doc))), doc...)
}

// Finding 1: an argument nested 1.3 million levels deep, under the 16 MiB
// limit, given to a scalar parameter, overflowed the stack (a fatal error,
// the whole process) while its type error rendered it. It is BadArguments,
// found without recursion, and the connection goes on.
func TestDeepArgumentToScalarParameter(t *testing.T) {
	c := connect(t, testServer(t))
	for _, depth := range []int{32_000, 1_300_000} {
		args := nestedArrays(depth)
		if err := bson.Raw(args).Validate(); depth == 32_000 && err != nil {
			t.Fatalf("test document: %v", err)
		}
		start := time.Now()
		ms := c.send(rawCall(t, 1, "add", args))
		if len(ms) != 1 || !errors.Is(ms[0].Err, ErrBadArguments) || !strings.Contains(ms[0].Err.Detail, "too deeply") {
			t.Fatalf("depth %d: got %+v, want BadArguments: too deeply", depth, ms)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("depth %d: %v to answer", depth, d)
		}
	}
	if ms := c.send(call(t, 2, "add", 1, 2)); len(ms) != 1 || reply(t, ms[0]) != int32(3) {
		t.Fatalf("after: %+v", ms)
	}
}

// Finding 2: the calls of a lost connection are cancelled: their
// Deferreds, and the contexts their handlers got.
func TestLostConnectionCancelsPendingCalls(t *testing.T) {
	s := NewServer()
	var ctxs []context.Context
	var ds []*deferred.Deferred
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Register("wait", func(ctx context.Context) *deferred.Deferred {
		d := deferred.New()
		ctxs, ds = append(ctxs, ctx), append(ds, d)
		return d
	}))
	c := connect(t, s)
	c.send(call(t, 1, "wait"), call(t, nil, "wait"), noreply(t, "wait"))
	if got := c.p.(*serverProtocol).Pending(); got != 3 {
		t.Fatalf("Pending() = %d, want 3", got)
	}
	c.tr.LoseConnection()
	for i, d := range ds {
		if !d.Called() {
			t.Errorf("call %d: its Deferred is not cancelled", i)
		}
		if ctxs[i].Err() == nil {
			t.Errorf("call %d: its context is not done", i)
		}
		d.AddErrback(ignore)
	}
}

// Finding 2: buffers grown by one big message are given back.
func TestBigMessageBuffersShrink(t *testing.T) {
	c := connect(t, testServer(t))
	big := strings.Repeat("x", 4<<20)
	if ms := c.send(call(t, 1, "upper", big)); len(ms) != 1 || reply(t, ms[0]) != strings.ToUpper(big) {
		t.Fatal("no answer to the big call")
	}
	if n := cap(c.p.(*serverProtocol).buf); n > 64<<10 {
		t.Fatalf("the connection keeps a %d-byte answer buffer", n)
	}
}

// Finding 3: an error answer is bounded whatever the call held, and does
// not escape (and so grow) what it quotes.
func TestErrorAnswersAreBounded(t *testing.T) {
	c := connect(t, testServer(t))
	angle := strings.Repeat("<", 1<<20)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"wrong type", call(t, 1, "add", angle, 1)},
		{"no such function", call(t, 1, angle)},
		{"unknown field", frame(t, bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: "add"}}}, {Key: angle, Value: 1}, {Key: "id", Value: 1}})},
		{"handler error", call(t, 1, "div", 1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(c.tr.Value())
			ms := c.send(tc.msg)
			if len(ms) != 1 || ms[0].Kind != KindError {
				t.Fatalf("got %+v, want one error", ms)
			}
			if n := len(c.tr.Value()) + before; n > 1024 {
				t.Fatalf("a %d-byte error answer", n)
			}
			if strings.Contains(ms[0].Err.Detail, `\u003c`) {
				t.Fatalf("escaped detail %q", ms[0].Err.Detail)
			}
		})
	}
}

// Finding 3: a result too large for a message is a TooLarge error, never
// an answer the client would have to drop the connection for.
func TestAnswerOverMaxMessageIsTooLarge(t *testing.T) {
	s := testServer(t, WithMaxMessageSize(1000))
	if err := s.Register("pad", func(n int) string { return strings.Repeat("x", n) }); err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	ms := c.send(call(t, 1, "pad", 2000))
	if len(ms) != 1 || ms[0].Kind != KindError || !errors.Is(ms[0].Err, ErrTooLarge) || idOf(t, ms[0]) != 1 {
		t.Fatalf("got %+v, want a TooLarge error to call 1", ms)
	}
}

// Finding 4: only a plain scalar id is echoed; any other is BadMessage,
// answered without an id.
func TestMalformedIDIsNotEchoed(t *testing.T) {
	c := connect(t, testServer(t))
	deep := bson.RawValue{Type: bson.TypeArray, Value: nestedArrays(10_000)}
	for _, tc := range []struct {
		name string
		id   any
		echo bool
	}{
		{"int32", int32(7), true},
		{"int64", int64(7), true},
		{"double", 7.5, true},
		{"string", "call-7", true},
		{"ObjectId", bson.NewObjectID(), true},
		{"long string", strings.Repeat("i", 300), false},
		{"document", bson.D{{Key: "a", Value: 1}}, false},
		{"deep array", deep, false},
		{"bool", true, false},
		{"null", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: "add"}, {Key: "arguments", Value: bson.A{1, 2}}}}, {Key: "id", Value: tc.id}}
			ms := c.send(frame(t, doc))
			if len(ms) != 1 {
				t.Fatalf("%d answers", len(ms))
			}
			if tc.echo {
				if ms[0].Kind != KindReply || ms[0].ID.Type == 0 {
					t.Fatalf("got %+v, want a reply with the id", ms[0])
				}
				return
			}
			if !errors.Is(ms[0].Err, ErrBadMessage) || ms[0].ID.Type != 0 {
				t.Fatalf("got %v %v id %v, want BadMessage without an id", ms[0].Kind, ms[0].Err, ms[0].ID.Type)
			}
		})
	}
}

// Finding 6: answers held back behind a call without an id are bounded by
// Limits.MaxOutput: past it the connection is closed, with a logged reason.
func TestHeldAnswersBoundedByMaxOutput(t *testing.T) {
	var log bytes.Buffer
	s, ds := asyncServer(t, WithLimits(Limits{MaxOutput: 64 << 10}), WithLogger(newLogger(&log)))
	if err := s.Register("pad", func(n int) string { return strings.Repeat("x", n) }); err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	c.send(call(t, nil, "later", 1))
	for range 10 {
		c.send(call(t, nil, "pad", 10_000))
	}
	if !c.tr.Disconnecting() {
		t.Fatal("100 KB of answers held for a 64 KiB cap, and the connection stays open")
	}
	if !strings.Contains(log.String(), "output cap") {
		t.Fatalf("log %q", log.String())
	}
	(*ds)[0].AddErrback(ignore)
}

// Unknown top-level fields of a call are BadMessage; maxTimeMS is not one.
func TestUnknownCallFieldsRejected(t *testing.T) {
	c := connect(t, testServer(t))
	add := bson.D{{Key: "funcname", Value: "add"}, {Key: "arguments", Value: bson.A{1, 2}}}
	ms := c.send(frame(t, bson.D{{Key: "call", Value: add}, {Key: "id", Value: 1}, {Key: "timeout", Value: 5}}))
	if len(ms) != 1 || !errors.Is(ms[0].Err, ErrBadMessage) || !strings.Contains(ms[0].Err.Detail, `"timeout"`) {
		t.Fatalf("got %+v, want BadMessage naming the field", ms)
	}
	ms = c.send(frame(t, bson.D{{Key: "call", Value: add}, {Key: "id", Value: 2}, {Key: "maxTimeMS", Value: int64(100)}}))
	if len(ms) != 1 || reply(t, ms[0]) != int32(3) {
		t.Fatalf("got %+v, want 3", ms)
	}
	ms = c.send(frame(t, bson.D{{Key: "call", Value: add}, {Key: "id", Value: 3}, {Key: "maxTimeMS", Value: -1}}))
	if len(ms) != 1 || !errors.Is(ms[0].Err, ErrBadMessage) {
		t.Fatalf("got %+v, want BadMessage for a negative maxTimeMS", ms)
	}
}

// maxTimeMS (CONTRACTS item 1): the handler's context has the deadline
// and is done at expiry; the call is answered Timeout; a later result is
// dropped.
func TestMaxTimeMS(t *testing.T) {
	clk := twisttest.NewClock()
	s := NewServer(WithClock(clk), WithLogger(newLogger(io.Discard)))
	var ctx context.Context
	var d *deferred.Deferred
	if err := s.Register("wait", func(c context.Context) *deferred.Deferred {
		ctx, d = c, deferred.New()
		return d
	}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	c.send(frame(t, bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: "wait"}}}, {Key: "id", Value: 1}, {Key: "maxTimeMS", Value: int32(250)}}))
	if dl, ok := ctx.Deadline(); !ok || dl.Sub(clk.Now()) != 250*time.Millisecond {
		t.Fatalf("deadline %v %v, want 250ms from now", dl, ok)
	}
	clk.Advance(249 * time.Millisecond)
	if ms := c.take(); len(ms) != 0 {
		t.Fatalf("answered early: %+v", ms)
	}
	clk.Advance(time.Millisecond)
	ms := c.take()
	if len(ms) != 1 || !errors.Is(ms[0].Err, ErrTimeout) || idOf(t, ms[0]) != 1 {
		t.Fatalf("got %+v, want Timeout", ms)
	}
	if ctx.Err() == nil {
		t.Fatal("the handler's context is not done at expiry")
	}
	d.Callback("late")
	if ms := c.take(); len(ms) != 0 {
		t.Fatalf("a late result was sent: %+v", ms)
	}
}

// Drain over a real loop: the call in flight is answered, then the
// connection closes and Drain's channel is closed.
func TestDrainOverTCP(t *testing.T) {
	s := NewServer()
	started := make(chan *deferred.Deferred, 1)
	if err := s.Register("wait", func() *deferred.Deferred {
		d := deferred.New()
		started <- d
		return d
	}); err != nil {
		t.Fatal(err)
	}
	loop, addr := looptest.Serve(t, s.Factory())
	c := looptest.Dial(t, addr)
	if _, err := c.Write(call(t, 1, "wait")); err != nil {
		t.Fatal(err)
	}
	d := <-started
	done := s.Drain(context.Background())
	loop.CallFromThread(func() { d.Callback("answered") })
	r := bufio.NewReader(c)
	m, _, err := readFrame(r, nil)
	if err != nil || reply(t, m) != "answered" {
		t.Fatalf("answer %+v, %v", m, err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the answer: %v, want EOF", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Drain's channel is still open after the connection closed")
	}
}

// A framed connection at the pending cap still notices that its peer
// closed, and cancels its calls.
func TestHeldConnectionNoticesClose(t *testing.T) {
	s := NewServer(WithMaxPending(1))
	ctxs := make(chan context.Context, 2)
	if err := s.Register("wait", func(ctx context.Context) *deferred.Deferred {
		ctxs <- ctx
		return deferred.New()
	}); err != nil {
		t.Fatal(err)
	}
	_, addr := looptest.Serve(t, s.Factory())
	c := looptest.Dial(t, addr)
	if _, err := c.Write(append(call(t, 1, "wait"), call(t, 2, "wait")...)); err != nil {
		t.Fatal(err)
	}
	ctx := <-ctxs
	c.Close()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the close of a connection at the pending cap went unseen: its call's context is not done")
	}
}
