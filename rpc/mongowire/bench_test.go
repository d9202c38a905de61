package mongowire

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/twisttest"
)

// BenchmarkCallAdd measures one OP_MSG {add: [1, 2]} call, from the
// pre-encoded message to the encoded reply on a StringTransport.
func BenchmarkCallAdd(b *testing.B) {
	r := rpc.NewServer()
	if err := r.Register("add", func(x, y int) int { return x + y }); err != nil {
		b.Fatal(err)
	}
	p := NewServer(r).BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	msg := command(b, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}})
	b.ReportAllocs()
	for b.Loop() {
		tr.Clear()
		p.DataReceived(msg)
	}
	if rs := replies(b, tr); len(rs) != 1 || rs[0].doc.Lookup("reply").Int32() != 3 {
		b.Fatalf("replies %v", rs)
	}
}
