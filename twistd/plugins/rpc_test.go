package plugins

import (
	"encoding/binary"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/service"
)

// rpcAddrs runs the rpc plugin and returns the addresses of its framed and
// MongoDB wire protocol servers.
func rpcAddrs(t *testing.T) (framed, mongo string) {
	t.Helper()
	ms := runPlugin(t, "rpc", "--mongo-port", "0").(*service.MultiService)
	addr := func(name string) string {
		s, ok := ms.GetServiceNamed(name)
		if !ok {
			t.Fatalf("the rpc plugin has no %q server", name)
		}
		return s.(*service.StreamServer).Addr().String()
	}
	return addr(RPCFramedName), addr(RPCMongoName)
}

// readN reads exactly n bytes from c.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func marshal(t *testing.T, doc any) []byte {
	t.Helper()
	b, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRPCPluginFramed(t *testing.T) {
	framed, _ := rpcAddrs(t)
	c := dial(t, framed)
	for _, call := range []struct {
		name string
		args bson.A
		want string
	}{
		{"add", bson.A{1, 2}, `{"reply": {"$numberInt":"3"},"id": {"$numberInt":"7"}}`},
		{"cummingsify", bson.A{"Shall I Compare"}, `{"reply": "shall i compare","id": {"$numberInt":"7"}}`},
	} {
		body := marshal(t, bson.D{
			{Key: "call", Value: bson.D{{Key: "funcname", Value: call.name}, {Key: "arguments", Value: call.args}}},
			{Key: "id", Value: 7},
		})
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		if _, err := c.Write(append(frame, body...)); err != nil {
			t.Fatal(err)
		}
		n := binary.BigEndian.Uint32(readN(t, c, 4))
		if got := bson.Raw(readN(t, c, int(n))).String(); got != call.want {
			t.Errorf("%s%v: got %s, want %s", call.name, call.args, got, call.want)
		}
	}
}

func TestRPCPluginMongoWire(t *testing.T) {
	_, mongo := rpcAddrs(t)
	c := dial(t, mongo)
	// An OP_MSG with one kind-0 section: db.runCommand({add: [1, 2]}).
	doc := marshal(t, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}})
	msg := binary.LittleEndian.AppendUint32(nil, uint32(16+4+1+len(doc)))
	msg = binary.LittleEndian.AppendUint32(msg, 42) // requestID
	msg = binary.LittleEndian.AppendUint32(msg, 0)  // responseTo
	msg = binary.LittleEndian.AppendUint32(msg, 2013)
	msg = binary.LittleEndian.AppendUint32(msg, 0) // flags
	msg = append(append(msg, 0), doc...)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	header := readN(t, c, 16)
	body := readN(t, c, int(binary.LittleEndian.Uint32(header))-16)
	if to := binary.LittleEndian.Uint32(header[8:]); to != 42 {
		t.Errorf("responseTo %d, want 42", to)
	}
	if op := binary.LittleEndian.Uint32(header[12:]); op != 2013 || body[4] != 0 {
		t.Fatalf("reply opCode %d, section kind %d", op, body[4])
	}
	reply := bson.Raw(body[5:])
	if v := reply.Lookup("reply").AsInt64(); v != 3 {
		t.Errorf("reply %d, want 3: %s", v, reply)
	}
	if ok := reply.Lookup("ok").Double(); ok != 1 {
		t.Errorf("ok %v: %s", ok, reply)
	}
}

func TestRPCPluginNamesItsServers(t *testing.T) {
	var logs strings.Builder
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)
	framed, mongo := rpcAddrs(t)
	for _, want := range []string{
		"RPCServer starting on " + portOf(t, framed),
		"MongoWireServer starting on " + portOf(t, mongo),
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// With --http-port and --http-path the rpc plugin serves the directory's
// files over HTTP beside the two RPC protocols, from the same process.
func TestRPCPluginHTTP(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, rpc"), 0o644); err != nil {
		t.Fatal(err)
	}
	ms := runPlugin(t, "rpc", "--mongo-port", "-1", "--http-port", "0", "--http-path", dir).(*service.MultiService)
	s, ok := ms.GetServiceNamed(RPCHTTPName)
	if !ok {
		t.Fatalf("the rpc plugin has no %q server", RPCHTTPName)
	}
	c := dial(t, s.(*service.StreamServer).Addr().String())
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	got, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(got), "HTTP/1.1 200 ") || !strings.HasSuffix(string(got), "\r\n\r\nhello, rpc") {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestRPCPluginHTTPNeedsPath(t *testing.T) {
	fs := flag.NewFlagSet("rpc", flag.ContinueOnError)
	mk := RPC.Flags(fs)
	if err := fs.Parse([]string{"--http-port", "0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mk(nil); err == nil || !strings.Contains(err.Error(), "--http-path") {
		t.Fatalf("got %v, want an error naming --http-path", err)
	}
}
