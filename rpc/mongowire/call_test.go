package mongowire

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/twisttest"
)

// dispatchOnly hides every method of its Dispatcher but Dispatch, so that
// the server takes the path of Dispatchers that cannot append results.
type dispatchOnly struct{ d Dispatcher }

func (d dispatchOnly) Dispatch(ctx context.Context, clk clock.Clock, name string, args bson.RawArray) *deferred.Deferred {
	return d.d.Dispatch(ctx, clk, name, args)
}

// TestReplyOfEveryPathIsTheSame answers the same calls three ways: with the
// result appended at once (an *rpc.Server), through a Deferred that has
// fired (a Dispatcher without AppendCall) and through one that fires later,
// and wants the same reply documents from all three.
func TestReplyOfEveryPathIsTheSame(t *testing.T) {
	calls := []struct {
		name string
		cmd  bson.D
		// later is what the asynchronous function is fired with.
		later any
	}{
		{"int", bson.D{{Key: "add", Value: bson.A{1, 2}}}, 3},
		{"large int", bson.D{{Key: "add", Value: bson.A{int64(1) << 40, 1}}}, 1<<40 + 1},
		{"string", bson.D{{Key: "echo", Value: "hi"}}, "hi"},
		{"document", bson.D{{Key: "echo", Value: bson.A{bson.D{{Key: "a", Value: int32(1)}}}}}, bson.D{{Key: "a", Value: int32(1)}}},
	}
	r := rpc.NewServer()
	must(t, r.Register("add", func(a, b int) int { return a + b }))
	must(t, r.Register("echo", func(v any) any { return v }))
	var later *deferred.Deferred
	must(t, r.Register("later", func(any) *deferred.Deferred {
		later = deferred.New()
		return later
	}))
	conn := func(d Dispatcher) (*conn, *twisttest.StringTransport) {
		p := NewServer(d).BuildProtocol(nil).(*conn)
		tr := &twisttest.StringTransport{}
		p.ConnectionMade(tr)
		return p, tr
	}
	appended, trA := conn(r)
	dispatched, trD := conn(dispatchOnly{r})
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			msg := command(t, 1, tt.cmd)
			appended.DataReceived(msg)
			dispatched.DataReceived(msg)
			a, d := replies(t, trA), replies(t, trD)
			if len(a) != 1 || len(d) != 1 {
				t.Fatalf("%d and %d replies", len(a), len(d))
			}
			if !bytes.Equal(a[0].doc, d[0].doc) {
				t.Fatalf("appended %v, dispatched %v", a[0].doc, d[0].doc)
			}
			deferredCmd := append(bson.D{{Key: "later", Value: bson.A{nil}}}, tt.cmd[1:]...)
			appended.DataReceived(command(t, 2, deferredCmd))
			later.Callback(tt.later)
			l := replies(t, trA)
			if len(l) != 1 || !bytes.Equal(a[0].doc, l[0].doc) {
				t.Fatalf("appended %v, later %v", a[0].doc, l)
			}
		})
	}
}

func TestAppendedReplies(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		msg    []byte
		opCode int32
		check  func(t *testing.T, doc bson.Raw)
	}{
		{"OP_QUERY on $cmd gets an OP_REPLY", opQueryMsg(t, 5, "admin.$cmd", bson.D{{Key: "add", Value: bson.A{2, 3}}}), opReply, func(t *testing.T, doc bson.Raw) {
			checkOK(t, doc)
			if got := field(t, doc, bson.TypeInt32, "reply").Int32(); got != 5 {
				t.Fatalf("reply %d", got)
			}
		}},
		{"unknown function", command(t, 5, bson.D{{Key: "nosuch", Value: bson.A{}}}), opMsg, func(t *testing.T, doc bson.Raw) {
			checkError(t, doc, CodeCommandNotFound, "CommandNotFound")
		}},
		{"bad arguments", command(t, 5, bson.D{{Key: "add", Value: bson.A{1}}}), opMsg, func(t *testing.T, doc bson.Raw) {
			checkError(t, doc, CodeBadArguments, "BadArguments")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.send(tt.msg)
			if r.opCode != tt.opCode || r.responseTo != 5 {
				t.Fatalf("opCode %d responseTo %d", r.opCode, r.responseTo)
			}
			tt.check(t, r.doc)
		})
	}
}

func TestRequestIDsCountSentReplies(t *testing.T) {
	f := newFixture(t)
	f.proto.DataReceived(command(t, 1, bson.D{{Key: "add", Value: bson.A{1, 1}}}))
	f.proto.DataReceived(opMsgFrame(2, flagMoreToCome, kind0(t, bson.D{{Key: "add", Value: bson.A{1, 2}}})))
	f.proto.DataReceived(command(t, 3, bson.D{{Key: "nosuch", Value: bson.A{}}}))
	f.proto.DataReceived(command(t, 4, bson.D{{Key: "add", Value: bson.A{1, 3}}}))
	rs := replies(t, f.tr)
	if len(rs) != 3 {
		t.Fatalf("%d replies", len(rs))
	}
	for i, r := range rs {
		if r.requestID != int32(i+1) {
			t.Errorf("reply %d has requestID %d", i, r.requestID)
		}
	}
}

// FuzzMessage feeds one message to a connection: whatever it holds, the
// server answers or closes the connection, and never panics.
func FuzzMessage(f *testing.F) {
	f.Add(command(f, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}}))
	f.Add(command(f, 1, bson.D{{Key: "echo", Value: bson.A{bson.D{{Key: "x", Value: 1}}}}}))
	f.Add(command(f, 1, bson.D{{Key: "hello", Value: 1}, {Key: "helloOk", Value: true}}))
	f.Add(opMsgFrame(1, flagChecksumPresent, kind0(f, bson.D{{Key: "add", Value: bson.A{2, 3}}})))
	f.Add(opMsgFrame(1, 0, kind0(f, bson.D{{Key: "insert", Value: "c"}}), kind1(f, "documents", bson.D{{Key: "a", Value: 1}})))
	f.Add(opQueryMsg(f, 1, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}}))
	f.Add(opQueryMsg(f, 1, "test.rpc", bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{1, 2}, bson.D{}}}}))
	f.Add(command(f, 1, bson.D{{Key: "find", Value: "rpc"}, {Key: "filter", Value: bson.D{{Key: "funcname", Value: "add"}}}}))
	r := rpc.NewServer()
	must(f, r.Register("add", func(a, b int) int { return a + b }))
	must(f, r.Register("echo", func(v any) any { return v }))
	s := NewServer(r, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p := s.BuildProtocol(nil)
		tr := &twisttest.StringTransport{}
		p.ConnectionMade(tr)
		p.DataReceived(msg)
		if len(msg) >= headerLen && int(readHeader(msg).length) == len(msg) && len(tr.Value()) == 0 && !tr.Disconnecting() && !moreToCome(msg) {
			t.Fatal("a whole message got no reply and did not close the connection")
		}
	})
}

// moreToCome reports whether msg is an OP_MSG that wants no reply.
func moreToCome(msg []byte) bool {
	return readHeader(msg).opCode == opMsg && len(msg) >= headerLen+4 && msg[headerLen]&flagMoreToCome != 0
}
