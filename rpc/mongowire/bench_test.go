package mongowire

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/twisttest"
)

// BenchmarkCallAdd measures one OP_MSG {add: [1, 2], lsid, $db} call, from the
// pre-encoded message to the encoded reply on a StringTransport.
func BenchmarkCallAdd(b *testing.B) {
	r := rpc.NewServer()
	if err := r.Register("add", func(x, y int) int { return x + y }); err != nil {
		b.Fatal(err)
	}
	p := NewServer(r).BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	// As the Go driver sends it: with its implicit session.
	lsid := bson.D{{Key: "id", Value: bson.Binary{Subtype: bson.TypeBinaryUUID, Data: make([]byte, 16)}}}
	msg := command(b, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "lsid", Value: lsid}, {Key: "$db", Value: "test"}})
	b.ReportAllocs()
	for b.Loop() {
		tr.Clear()
		p.DataReceived(msg)
	}
	if rs := replies(b, tr); len(rs) != 1 || rs[0].doc.Lookup("reply").Int32() != 3 {
		b.Fatalf("replies %v", rs)
	}
}

// TestDriverCallDoesNotAllocate: a call as the Go driver sends it, to a
// function with scalar parameters, from the message to its reply written,
// allocates nothing at steady state.
func TestDriverCallDoesNotAllocate(t *testing.T) {
	r := rpc.NewServer()
	if err := r.Register("add", func(x, y int) int { return x + y }); err != nil {
		t.Fatal(err)
	}
	p := NewServer(r).BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	lsid := bson.D{{Key: "id", Value: bson.Binary{Subtype: bson.TypeBinaryUUID, Data: make([]byte, 16)}}}
	msg := command(t, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "lsid", Value: lsid}, {Key: "$db", Value: "test"}})
	allocs := testing.AllocsPerRun(100, func() {
		tr.Clear()
		p.DataReceived(msg)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
	if rs := replies(t, tr); len(rs) != 1 || rs[0].doc.Lookup("reply").Int32() != 3 {
		t.Fatalf("replies %v", rs)
	}
}
