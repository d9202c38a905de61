package mongowire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/twisttest"
)

// fixture is a server with test functions, one connection to it over a
// StringTransport, and the Deferreds of the function "later", which the
// test fires.
type fixture struct {
	t      *testing.T
	srv    *Server
	proto  *conn
	tr     *twisttest.StringTransport
	later  []*deferred.Deferred
	logged *bytes.Buffer
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{t: t, logged: &bytes.Buffer{}}
	r := rpc.NewServer()
	must(t, r.Register("add", func(a, b int) int { return a + b }))
	must(t, r.Register("echo", func(v any) any { return v }))
	must(t, r.Register("fail", func() error { return errors.New("it broke") }))
	must(t, r.Register("later", func() *deferred.Deferred {
		d := deferred.New()
		f.later = append(f.later, d)
		return d
	}))
	must(t, r.Register("ping", func() string { return "function" }))
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(f.logged, nil)))}, opts...)
	f.srv = NewServer(r, opts...)
	f.proto, f.tr = f.connect()
	return f
}

// connect makes another connection to the fixture's server.
func (f *fixture) connect() (*conn, *twisttest.StringTransport) {
	p := f.srv.BuildProtocol(nil).(*conn)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	return p, tr
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// marshal encodes a document with the bson package.
func marshal(t testing.TB, doc any) []byte {
	t.Helper()
	b, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kind0 is a kind-0 section holding doc.
func kind0(t testing.TB, doc any) []byte {
	return append([]byte{0}, marshal(t, doc)...)
}

// kind1 is a kind-1 section of docs under id.
func kind1(t testing.TB, id string, docs ...any) []byte {
	body := append([]byte(id), 0)
	for _, d := range docs {
		body = append(body, marshal(t, d)...)
	}
	sec := []byte{1}
	sec = binary.LittleEndian.AppendUint32(sec, uint32(4+len(body)))
	return append(sec, body...)
}

// opMsgFrame frames an OP_MSG; with flagChecksumPresent it appends the checksum.
func opMsgFrame(requestID int32, flags uint32, sections ...[]byte) []byte {
	b := appendHeader(nil, requestID, 0, opMsg)
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, s := range sections {
		b = append(b, s...)
	}
	if flags&flagChecksumPresent != 0 {
		b = binary.LittleEndian.AppendUint32(b, 0)
		finishMessage(b)
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
		return b
	}
	finishMessage(b)
	return b
}

// command frames doc as an OP_MSG command.
func command(t testing.TB, requestID int32, doc any) []byte {
	return opMsgFrame(requestID, 0, kind0(t, doc))
}

// opQueryMsg frames an OP_QUERY of doc on coll.
func opQueryMsg(t testing.TB, requestID int32, coll string, doc any) []byte {
	b := appendHeader(nil, requestID, 0, opQuery)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(append(b, coll...), 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(0xffffffff))
	b = append(b, marshal(t, doc)...)
	finishMessage(b)
	return b
}

// reply is a decoded reply.
type reply struct {
	header
	flags int32 // OP_MSG flagBits or OP_REPLY responseFlags
	doc   bson.Raw
}

// replies decodes every reply written to tr, checking their framing: an
// OP_MSG with no flags and one kind-0 section, or an OP_REPLY with cursor 0,
// startingFrom 0 and one document. It clears tr.
func replies(t testing.TB, tr *twisttest.StringTransport) []reply {
	t.Helper()
	b := tr.Value()
	tr.Clear()
	var out []reply
	for len(b) > 0 {
		if len(b) < headerLen {
			t.Fatalf("%d trailing bytes", len(b))
		}
		h := readHeader(b)
		if int(h.length) > len(b) || h.length < headerLen {
			t.Fatalf("reply length %d with %d bytes", h.length, len(b))
		}
		body := b[headerLen:h.length]
		b = b[h.length:]
		r := reply{header: h}
		switch h.opCode {
		case opMsg:
			r.flags = int32(binary.LittleEndian.Uint32(body))
			if r.flags != 0 || body[4] != 0 {
				t.Fatalf("OP_MSG reply flags %#x, section kind %d", r.flags, body[4])
			}
			body = body[5:]
		case opReply:
			r.flags = int32(binary.LittleEndian.Uint32(body))
			cursor := binary.LittleEndian.Uint64(body[4:])
			from := binary.LittleEndian.Uint32(body[12:])
			n := binary.LittleEndian.Uint32(body[16:])
			if cursor != 0 || from != 0 || n != 1 {
				t.Fatalf("OP_REPLY cursor %d, startingFrom %d, numberReturned %d", cursor, from, n)
			}
			body = body[20:]
		default:
			t.Fatalf("reply opcode %d", h.opCode)
		}
		doc, rest, err := parser{maxDepth: rpc.DefaultMaxDepth}.readDocument(body)
		if err != nil || len(rest) != 0 {
			t.Fatalf("reply document: %v, %d bytes after it", err, len(rest))
		}
		r.doc = doc
		out = append(out, r)
	}
	return out
}

// send feeds msgs to the fixture's connection and returns the one reply.
func (f *fixture) send(msgs ...[]byte) reply {
	f.t.Helper()
	for _, m := range msgs {
		f.proto.DataReceived(m)
	}
	rs := replies(f.t, f.tr)
	if len(rs) != 1 {
		f.t.Fatalf("got %d replies, want 1", len(rs))
	}
	return rs[0]
}

// field returns the value under key, failing unless it has type typ.
func field(t testing.TB, doc bson.Raw, typ bson.Type, key ...string) bson.RawValue {
	t.Helper()
	v, err := doc.LookupErr(key...)
	if err != nil {
		t.Fatalf("%v missing from %v", key, doc)
	}
	if v.Type != typ {
		t.Fatalf("%v is a %v (%v), want a %v", key, v.Type, v, typ)
	}
	return v
}

// checkError checks a command error reply.
func checkError(t testing.TB, doc bson.Raw, code int32, codeName string) {
	t.Helper()
	if ok := field(t, doc, bson.TypeDouble, "ok").Double(); ok != 0 {
		t.Fatalf("ok = %v in %v", ok, doc)
	}
	field(t, doc, bson.TypeString, "errmsg")
	if got := field(t, doc, bson.TypeInt32, "code").Int32(); got != code {
		t.Errorf("code = %d, want %d", got, code)
	}
	if got := field(t, doc, bson.TypeString, "codeName").StringValue(); got != codeName {
		t.Errorf("codeName = %q, want %q", got, codeName)
	}
}

// checkOK checks ok: 1.0.
func checkOK(t testing.TB, doc bson.Raw) {
	t.Helper()
	if ok := field(t, doc, bson.TypeDouble, "ok").Double(); ok != 1 {
		t.Fatalf("ok = %v in %v", ok, doc)
	}
}

// header is the standard message header.
type header struct {
	length     int32
	requestID  int32
	responseTo int32
	opCode     int32
}

func readHeader(b []byte) header {
	return header{
		length:     int32(binary.LittleEndian.Uint32(b)),
		requestID:  int32(binary.LittleEndian.Uint32(b[4:])),
		responseTo: int32(binary.LittleEndian.Uint32(b[8:])),
		opCode:     int32(binary.LittleEndian.Uint32(b[12:])),
	}
}

// parseMessage parses one whole message, its length field included.
func parseMessage(msg []byte) (request, error) {
	if len(msg) < 4 || int(binary.LittleEndian.Uint32(msg)) != len(msg) {
		return request{}, malformed("length field does not match %d bytes", len(msg))
	}
	return parseFrame(msg[4:], rpc.DefaultMaxDepth+cmdLevels)
}
