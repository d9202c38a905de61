package mongowire

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestOldStyleQuery(t *testing.T) {
	tests := []struct {
		name     string
		coll     string
		filter   bson.D
		result   int32  // expected $result, when kind is empty
		kind     string // expected $error message
		failFlag bool
	}{
		{name: "call", coll: "test.rpc", filter: bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{1, 2}, bson.D{}}}}, result: 3},
		{name: "args only", coll: "db.rpc", filter: bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{4, 2}}}}, result: 6},
		{name: "keyword arguments", coll: "test.rpc", filter: bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{1}, bson.D{{Key: "b", Value: 2}}}}}, kind: "BadArguments"},
		{name: "no funcname", coll: "test.rpc", filter: bson.D{{Key: "argstr", Value: bson.A{bson.A{}, bson.D{}}}}, kind: "BadArguments"},
		{name: "argstr not an array", coll: "test.rpc", filter: bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: "1, 2"}}, kind: "BadArguments"},
		{name: "args not an array", coll: "test.rpc", filter: bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{1, bson.D{}}}}, kind: "BadArguments"},
		{name: "unknown function", coll: "test.rpc", filter: bson.D{{Key: "funcname", Value: "nosuch"}, {Key: "argstr", Value: bson.A{bson.A{}, bson.D{}}}}, kind: "NoSuchFunction"},
		{name: "function error", coll: "test.rpc", filter: bson.D{{Key: "funcname", Value: "fail"}}, kind: "HandlerError"},
		{name: "another collection", coll: "test.things", filter: bson.D{{Key: "funcname", Value: "add"}}, failFlag: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.send(opQueryMsg(t, 9, tt.coll, tt.filter))
			if r.opCode != opReply || r.responseTo != 9 {
				t.Fatalf("opCode %d responseTo %d", r.opCode, r.responseTo)
			}
			switch {
			case tt.failFlag:
				if r.flags != queryFailure {
					t.Fatalf("responseFlags %d", r.flags)
				}
				field(t, r.doc, bson.TypeString, "$err")
				if code := field(t, r.doc, bson.TypeInt32, "code").Int32(); code != CodeNamespaceNotFound {
					t.Errorf("code %d", code)
				}
			case tt.kind != "":
				checkOldStyleError(t, r.doc, tt.kind)
			default:
				if got := field(t, r.doc, bson.TypeInt32, "$result").Int32(); got != tt.result {
					t.Fatalf("$result %d", got)
				}
			}
		})
	}
}

func checkOldStyleError(t *testing.T, doc bson.Raw, kind string) {
	t.Helper()
	if got := field(t, doc, bson.TypeString, "$error", "message").StringValue(); got != kind {
		t.Errorf("$error.message %q, want %q", got, kind)
	}
	if d := field(t, doc, bson.TypeString, "$error", "detail").StringValue(); d == "" {
		t.Error("empty detail")
	}
}

func TestOldStyleFindCommand(t *testing.T) {
	find := func(filter bson.D) bson.D {
		return bson.D{{Key: "find", Value: "rpc"}, {Key: "filter", Value: filter}, {Key: "limit", Value: 1}, {Key: "singleBatch", Value: true}, {Key: "$db", Value: "calc"}}
	}
	t.Run("result", func(t *testing.T) {
		f := newFixture(t)
		r := f.send(command(t, 2, find(bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{1, 2}, bson.D{}}}})))
		checkOK(t, r.doc)
		if id := field(t, r.doc, bson.TypeInt64, "cursor", "id").Int64(); id != 0 {
			t.Errorf("cursor id %d", id)
		}
		if ns := field(t, r.doc, bson.TypeString, "cursor", "ns").StringValue(); ns != "calc.rpc" {
			t.Errorf("ns %q", ns)
		}
		if got := field(t, r.doc, bson.TypeInt32, "cursor", "firstBatch", "0", "$result").Int32(); got != 3 {
			t.Errorf("$result %d", got)
		}
		if _, err := r.doc.LookupErr("cursor", "firstBatch", "1"); err == nil {
			t.Error("more than one document")
		}
	})
	t.Run("error", func(t *testing.T) {
		f := newFixture(t)
		r := f.send(command(t, 2, find(bson.D{{Key: "funcname", Value: "nosuch"}})))
		checkOK(t, r.doc)
		checkOldStyleError(t, field(t, r.doc, bson.TypeEmbeddedDocument, "cursor", "firstBatch", "0").Document(), "NoSuchFunction")
	})
	t.Run("asynchronous", func(t *testing.T) {
		f := newFixture(t)
		f.proto.DataReceived(command(t, 2, find(bson.D{{Key: "funcname", Value: "later"}})))
		if len(f.later) != 1 || len(f.tr.Value()) != 0 {
			t.Fatal("the call did not wait")
		}
		f.later[0].Callback("done")
		r := replies(t, f.tr)[0]
		if got := r.doc.Lookup("cursor", "firstBatch", "0", "$result").StringValue(); got != "done" {
			t.Fatalf("reply %v", r.doc)
		}
	})
}

// TestLimitsCloseOneConnection checks that a bad message closes its own
// connection, with the reason logged, and leaves the others alone.
func TestLimitsCloseOneConnection(t *testing.T) {
	tooLong := command(t, 1, bson.D{{Key: "echo", Value: strings.Repeat("x", 2000)}})
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"longer than the maximum", tooLong[:100], "out of bounds"},
		{"length smaller than a header", []byte{15, 0, 0, 0}, "out of bounds"},
		{"negative length", []byte{0, 0, 0, 0x80}, "out of bounds"},
		{"unknown section kind", opMsgFrame(1, 0, kind0(t, bson.D{{Key: "ping", Value: 1}}), []byte{9}), "malformed"},
		{"bad checksum", func() []byte {
			m := opMsgFrame(1, flagChecksumPresent, kind0(t, bson.D{{Key: "ping", Value: 1}}))
			m[len(m)-2] ^= 1
			return m
		}(), "malformed"},
		{"unknown flag bits", opMsgFrame(1, 1<<5, kind0(t, bson.D{{Key: "ping", Value: 1}})), "malformed"},
		{"unknown opcode", func() []byte {
			m := appendHeader(nil, 1, 0, 2010)
			m = append(m, 0, 0, 0, 0)
			finishMessage(m)
			return m
		}(), "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, WithMaxMessageSize(1024))
			other, otherTr := f.connect()
			// A good message before the bad one in the same read is answered.
			f.proto.DataReceived(append(command(t, 1, bson.D{{Key: "ping", Value: 1}}), tt.data...))
			if !f.tr.Disconnecting() {
				t.Fatal("the connection stays open")
			}
			if rs := replies(t, f.tr); len(rs) != 1 {
				t.Fatalf("%d replies before the close", len(rs))
			}
			if !strings.Contains(f.logged.String(), tt.reason) || !strings.Contains(f.logged.String(), "connectionId=1") {
				t.Errorf("log %q", f.logged.String())
			}
			f.proto.DataReceived(command(t, 2, bson.D{{Key: "ping", Value: 1}}))
			other.DataReceived(command(t, 3, bson.D{{Key: "add", Value: bson.A{1, 1}}}))
			if otherTr.Disconnecting() || len(replies(t, otherTr)) != 1 {
				t.Fatal("the other connection was disturbed")
			}
		})
	}
}

func TestMessageUpToTheMaximumIsAccepted(t *testing.T) {
	f := newFixture(t, WithMaxMessageSize(1024))
	pad := strings.Repeat("x", 1024)
	msg := command(t, 1, bson.D{{Key: "echo", Value: pad}})
	msg = command(t, 1, bson.D{{Key: "echo", Value: pad[:1024-(len(msg)-1024)]}})
	if len(msg) != 1024 {
		t.Fatalf("message of %d bytes", len(msg))
	}
	r := f.send(msg)
	checkOK(t, r.doc)
}

func TestUnencodableResultIsHandlerError(t *testing.T) {
	f := newFixture(t)
	f.proto.DataReceived(command(t, 1, bson.D{{Key: "later", Value: bson.A{}}}))
	f.later[0].Callback(make(chan int))
	checkError(t, replies(t, f.tr)[0].doc, CodeHandlerError, "HandlerError")
	// The encoder is usable again.
	checkOK(t, f.send(command(t, 2, bson.D{{Key: "ping", Value: 1}})).doc)
}
