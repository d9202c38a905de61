package mongowire

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestCallAnswersReply(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 7, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}}))
	if r.responseTo != 7 || r.opCode != opMsg {
		t.Fatalf("responseTo %d opCode %d", r.responseTo, r.opCode)
	}
	checkOK(t, r.doc)
	if got := field(t, r.doc, bson.TypeInt32, "reply").Int32(); got != 3 {
		t.Fatalf("reply = %d", got)
	}
	if first := r.doc.Index(0).Key(); first != "reply" {
		t.Errorf("first key %q", first)
	}
}

func TestUnknownCommandIsCommandNotFound(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 1, bson.D{{Key: "nosuch", Value: 1}, {Key: "$db", Value: "admin"}}))
	checkError(t, r.doc, CodeCommandNotFound, "CommandNotFound")
	if msg := field(t, r.doc, bson.TypeString, "errmsg").StringValue(); !strings.Contains(msg, "nosuch") {
		t.Errorf("errmsg %q", msg)
	}
}
