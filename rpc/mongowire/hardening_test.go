package mongowire

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/looptest"
	"github.com/twistgo/twist/twisttest"
)

// The regression tests of the RPC findings of issue 11 on the wire
// protocol; rpc has those of the framed protocol.

// deepArrayCommand returns {add: [[[...[]...]], 1]}: add's first argument
// is an array nested depth levels deep.
func deepArrayCommand(depth int) []byte {
	b := []byte{0, 0, 0, 0, byte(bson.TypeArray), 'a', 'd', 'd', 0}
	starts := []int{0, len(b)}
	b = append(b, 0, 0, 0, 0) // the argument array
	for range depth {
		b = append(b, byte(bson.TypeArray), '0', 0)
		starts = append(starts, len(b))
		b = append(b, 0, 0, 0, 0)
	}
	b = append(b[:len(b)-4], 5, 0, 0, 0, 0) // the innermost array is empty
	starts = starts[:len(starts)-1]
	for i := len(starts) - 1; i >= 2; i-- {
		b = append(b, 0)
		binary.LittleEndian.PutUint32(b[starts[i]:], uint32(len(b)-starts[i]))
	}
	b = append(b, byte(bson.TypeInt32), '1', 0, 1, 0, 0, 0, 0) // , 1]
	binary.LittleEndian.PutUint32(b[starts[1]:], uint32(len(b)-starts[1]))
	b = append(b, 0)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// Finding 1: an argument nested 1.3 million levels deep given to a scalar
// parameter overflowed the stack. It is answered BadArguments, found
// without recursion, and the connection goes on.
func TestDeepArgumentToScalarParameter(t *testing.T) {
	f := newFixture(t)
	for _, depth := range []int{150, 1_300_000} {
		cmd := deepArrayCommand(depth)
		if depth == 150 {
			if err := bson.Raw(cmd).Validate(); err != nil {
				t.Fatalf("test document: %v", err)
			}
		}
		r := f.send(opMsgFrame(1, 0, append([]byte{0}, cmd...)))
		checkError(t, r.doc, CodeBadArguments, "BadArguments")
	}
	checkOK(t, f.send(addCommand(t, 2)).doc)
}

// Finding 2: a connection at the pending cap still notices that its peer
// closed, and cancels its calls: it used to pause reading, which took it
// out of epoll, so that the close went unseen while its calls ran on.
func TestHeldConnectionNoticesClose(t *testing.T) {
	r := rpc.NewServer(rpc.WithMaxPending(1))
	ctxs := make(chan context.Context, 2)
	must(t, r.Register("wait", func(ctx context.Context) *deferred.Deferred {
		ctxs <- ctx
		return deferred.New()
	}))
	_, addr := looptest.Serve(t, NewServer(r))
	c := looptest.Dial(t, addr)
	wait := func(i int32) []byte {
		return command(t, i, bson.D{{Key: "wait", Value: bson.A{}}, {Key: "$db", Value: "test"}})
	}
	if _, err := c.Write(append(wait(1), wait(2)...)); err != nil {
		t.Fatal(err)
	}
	ctx := <-ctxs // the second call is held at the cap
	c.Close()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the close of a connection at the pending cap went unseen: its call's context is not done")
	}
}

// Finding 3: error replies are bounded whatever the call held.
func TestErrorRepliesAreBounded(t *testing.T) {
	f := newFixture(t)
	angle := strings.Repeat("<", 1<<20)
	for _, tc := range []struct {
		name string
		cmd  bson.D
	}{
		{"wrong type", bson.D{{Key: "add", Value: bson.A{angle, 1}}}},
		{"no such command", bson.D{{Key: angle, Value: 1}}},
		{"unknown field", bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: angle, Value: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.proto.DataReceived(command(t, 1, tc.cmd))
			n := len(f.tr.Value())
			rs := replies(t, f.tr)
			if len(rs) != 1 || field(t, rs[0].doc, bson.TypeDouble, "ok").Double() != 0 {
				t.Fatalf("got %v, want one error", rs)
			}
			if n > 1024 {
				t.Fatalf("a %d-byte error reply", n)
			}
		})
	}
}

// Unknown top-level fields of a call are rejected; the generic command
// fields drivers add, maxTimeMS among them, are not.
func TestUnknownCallFieldsRejected(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "tiemout", Value: 5}, {Key: "$db", Value: "test"}}))
	checkError(t, r.doc, CodeBadMessage, "BadMessage")
	if msg := r.doc.Lookup("errmsg").StringValue(); !strings.Contains(msg, "tiemout") {
		t.Fatalf("errmsg %q does not name the field", msg)
	}
	r = f.send(command(t, 2, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "maxTimeMS", Value: int64(500)},
		{Key: "lsid", Value: bson.D{{Key: "id", Value: 1}}}, {Key: "$db", Value: "test"}}))
	checkOK(t, r.doc)
}

// maxTimeMS (CONTRACTS item 1): a call not finished in time is answered
// MaxTimeMSExpired (50), its handler's context done; a later result is
// dropped.
func TestMaxTimeMSExpired(t *testing.T) {
	clk := twisttest.NewClock()
	r := rpc.NewServer(rpc.WithClock(clk))
	var ctx context.Context
	var d *deferred.Deferred
	must(t, r.Register("wait", func(c context.Context) *deferred.Deferred {
		ctx, d = c, deferred.New()
		return d
	}))
	p := NewServer(r).BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	p.DataReceived(command(t, 1, bson.D{{Key: "wait", Value: bson.A{}}, {Key: "maxTimeMS", Value: int32(100)}, {Key: "$db", Value: "test"}}))
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("the handler's context has no deadline")
	}
	clk.Advance(100 * time.Millisecond)
	rs := replies(t, tr)
	if len(rs) != 1 {
		t.Fatalf("%d replies at expiry, want 1", len(rs))
	}
	checkError(t, rs[0].doc, 50, "MaxTimeMSExpired")
	if ctx.Err() == nil {
		t.Fatal("the handler's context is not done at expiry")
	}
	d.Callback(1)
	if rs := replies(t, tr); len(rs) != 0 {
		t.Fatalf("a late result was sent: %v", rs)
	}
}

// Finding 8: OP_QUERY's $query must be a document; anything else closes
// the connection as malformed, rather than being run as a command named
// $query.
func TestQueryWrapperTypeChecked(t *testing.T) {
	f := newFixture(t)
	f.proto.DataReceived(opQueryMsg(t, 1, "admin.$cmd", bson.D{{Key: "$query", Value: "ping"}}))
	if !f.tr.Disconnecting() {
		t.Fatal("a string $query was accepted")
	}
	if !strings.Contains(f.logged.String(), "$query") {
		t.Fatalf("log %q", f.logged.String())
	}
	// The wrapper around a document still works.
	g := newFixture(t)
	checkOK(t, g.send(opQueryMsg(t, 1, "admin.$cmd", bson.D{{Key: "$query", Value: bson.D{{Key: "ping", Value: 1}}}})).doc)
}

// Finding 2: buffers grown by one big message are given back.
func TestBigMessageBuffersShrink(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("x", 4<<20)
	r := f.send(command(t, 1, bson.D{{Key: "echo", Value: bson.A{big}}}))
	checkOK(t, r.doc)
	if n := f.proto.out.Cap(); n > 64<<10 {
		t.Fatalf("the connection keeps a %d-byte reply buffer", n)
	}
	if n := cap(f.proto.buf); n > 64<<10 {
		t.Fatalf("the connection keeps a %d-byte call buffer", n)
	}
}

// A write error is logged, not dropped.
func TestWriteErrorLogged(t *testing.T) {
	var log bytes.Buffer
	p := NewServer(rpc.NewServer(), WithLogger(slog.New(slog.NewTextHandler(&log, nil)))).BuildProtocol(nil)
	tr := &failingTransport{}
	p.ConnectionMade(tr)
	p.DataReceived(command(t, 1, bson.D{{Key: "ping", Value: 1}}))
	if !strings.Contains(log.String(), "cannot send") {
		t.Fatalf("log %q", log.String())
	}
}

type failingTransport struct{ twisttest.StringTransport }

func (*failingTransport) Write([]byte) (int, error) { return 0, errBroken }

var errBroken = bytes.ErrTooLarge
