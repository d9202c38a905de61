package mongowire

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
)

// readReply reads one whole reply message from c.
func readReply(t *testing.T, c net.Conn) []byte {
	t.Helper()
	msg, err := readMessage(c)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestLoopback serves a real loop over TCP and talks to it as a driver
// does: the OP_QUERY handshake, then OP_MSG commands, on two connections;
// one of them breaks the protocol and is closed, the other goes on.
func TestLoopback(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	r := rpc.NewServer()
	must(t, r.Register("add", func(a, b int) int { return a + b }))
	port, err := internet.ListenTCP(loop, "127.0.0.1:0", NewServer(r, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	defer func() {
		loop.CallFromThread(func() { _ = loop.Stop() })
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", port.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	good, bad := dial(), dial()
	for _, c := range []net.Conn{good, bad} {
		if _, err := c.Write(opQueryMsg(t, 1, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}, {Key: "helloOk", Value: true}})); err != nil {
			t.Fatal(err)
		}
		msg := readReply(t, c)
		if h := readHeader(msg); h.opCode != opReply || h.responseTo != 1 {
			t.Fatalf("handshake reply header %+v", h)
		}
		if !bson.Raw(msg[36:]).Lookup("ismaster").Boolean() {
			t.Fatalf("handshake reply %v", bson.Raw(msg[36:]))
		}
	}
	if _, err := bad.Write(opMsgFrame(2, 1<<3, kind0(t, bson.D{{Key: "ping", Value: 1}}))); err != nil {
		t.Fatal(err)
	}
	if n, err := bad.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d bytes, %v, from a connection the server should close", n, err)
	}
	if _, err := good.Write(command(t, 3, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}})); err != nil {
		t.Fatal(err)
	}
	msg := readReply(t, good)
	doc := bson.Raw(msg[headerLen+5:])
	if readHeader(msg).responseTo != 3 || doc.Lookup("reply").Int32() != 3 || doc.Lookup("ok").Double() != 1 {
		t.Fatalf("reply %v", doc)
	}
}
