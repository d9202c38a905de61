package rpc

import (
	"encoding/binary"
	"io"
	"log/slog"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

// frame returns doc, marshalled, with its length prefix.
func frame(t testing.TB, doc any) []byte {
	t.Helper()
	b, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// call returns the frame of a call to name with args, and the id if any.
func call(t testing.TB, id any, name string, args ...any) []byte {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	doc := bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: name}, {Key: "arguments", Value: args}}}}
	if id != nil {
		doc = append(doc, bson.E{Key: "id", Value: id})
	}
	return frame(t, doc)
}

// noreply returns the frame of a call to name with args that wants no answer.
func noreply(t testing.TB, name string, args ...any) []byte {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	return frame(t, bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: name}, {Key: "arguments", Value: args}}}, {Key: "noreply", Value: true}})
}

// frames splits what was written into parsed messages.
func frames(t testing.TB, b []byte) []Message {
	t.Helper()
	var out []Message
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("partial prefix %x", b)
		}
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n {
			t.Fatalf("partial frame: %d of %d bytes", len(b)-4, n)
		}
		m, err := ParseMessage(b[4 : 4+n])
		if err != nil {
			t.Fatalf("bad frame written: %v", err)
		}
		out = append(out, m)
		b = b[4+n:]
	}
	return out
}

// conn is a server connection over a StringTransport.
type conn struct {
	t  testing.TB
	tr *twisttest.StringTransportWithDisconnection
	p  internet.Protocol
}

func connect(t testing.TB, s *Server) *conn {
	p := s.Factory().BuildProtocol(nil)
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	p.ConnectionMade(tr)
	return &conn{t: t, tr: tr, p: p}
}

// send feeds b to the server and returns the messages it wrote since.
func (c *conn) send(b ...[]byte) []Message {
	c.t.Helper()
	for _, x := range b {
		c.p.DataReceived(x)
	}
	return c.take()
}

func (c *conn) take() []Message {
	c.t.Helper()
	out := frames(c.t, c.tr.Value())
	c.tr.Clear()
	return out
}

// reply returns the decoded reply of m, failing on anything else.
func reply(t testing.TB, m Message) any {
	t.Helper()
	if m.Kind != KindReply {
		t.Fatalf("got %v %v, want a reply", m.Kind, m.Err)
	}
	var v any
	if err := m.Value.Unmarshal(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func idOf(t testing.TB, m Message) int64 {
	t.Helper()
	n, ok := m.ID.AsInt64OK()
	if !ok {
		t.Fatalf("message without an integer id: %v", m.ID)
	}
	return n
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
