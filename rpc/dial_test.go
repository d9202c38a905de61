package rpc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc/internal/looptest"
)

// serveAdd serves a Server with add on a loop of its own until the test
// ends, and returns its address.
func serveAdd(t *testing.T) string {
	t.Helper()
	_, addr := looptest.Serve(t, testServer(t).Factory())
	return addr
}

// dial dials addr with Dial and closes the client when the test ends.
func dial(t *testing.T, addr string, opts ...ClientOption) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestDialCallsFromAnyGoroutine(t *testing.T) {
	c := dial(t, serveAdd(t))
	var sum int
	if err := c.Call(context.Background(), "add", []any{1, 2}, &sum); err != nil || sum != 3 {
		t.Fatalf("add(1, 2) = %d, %v", sum, err)
	}
	info, err := c.Info(context.Background())
	if err != nil || len(info.Functions) == 0 {
		t.Fatalf("info %+v, %v", info, err)
	}
}

func TestDialSharesOneLoopAndStopsItAfterTheLastClose(t *testing.T) {
	addr := serveAdd(t)
	a, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if a.loop != b.loop {
		t.Fatal("two clients of Dial on two loops")
	}
	loop := a.loop
	a.Close()
	if !loop.Running() {
		t.Fatal("the loop stopped while a client was left")
	}
	if err := a.Call(context.Background(), "add", []any{1, 2}, nil); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	var sum int
	if err := b.Call(context.Background(), "add", []any{2, 2}, &sum); err != nil || sum != 4 {
		t.Fatalf("add(2, 2) = %d, %v", sum, err)
	}
	b.Close()
	b.Close() // a second Close does nothing
	<-loop.Done()
	c := dial(t, addr) // on a new loop
	if err := c.Call(context.Background(), "add", []any{1, 1}, &sum); err != nil || sum != 2 {
		t.Fatalf("add(1, 1) on a new loop = %d, %v", sum, err)
	}
}

func TestDialFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	if c, err := Dial(context.Background(), addr); err == nil {
		c.Close()
		t.Fatal("dialed a closed port")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, addr); !errors.Is(err, context.Canceled) {
		t.Fatalf("dial with a cancelled context: %v", err)
	}
}

// peer is the server end of a client's connection, driven by the test.
type peer struct {
	t *testing.T
	l net.Listener
	c net.Conn
}

// listen returns a peer listening on loopback.
func listen(t *testing.T) *peer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &peer{t: t, l: l}
}

// accept takes the next connection.
func (p *peer) accept() {
	p.t.Helper()
	c, err := p.l.Accept()
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { c.Close() })
	p.c = c
}

// read reads one frame's document.
func (p *peer) read() bson.Raw {
	p.t.Helper()
	var n [4]byte
	if _, err := io.ReadFull(p.c, n[:]); err != nil {
		p.t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(p.c, b); err != nil {
		p.t.Fatal(err)
	}
	return b
}

// write writes doc as a frame.
func (p *peer) write(doc any) {
	p.t.Helper()
	if _, err := p.c.Write(frame(p.t, doc)); err != nil {
		p.t.Fatal(err)
	}
}

// dialPeer dials p with Dial, accepting the connection.
func dialPeer(t *testing.T, p *peer, opts ...ClientOption) *Client {
	t.Helper()
	dialed := make(chan *Client, 1)
	go func() {
		c, err := Dial(context.Background(), p.l.Addr().String(), opts...)
		if err != nil {
			t.Error(err)
		}
		dialed <- c
	}()
	p.accept()
	c := <-dialed
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(c.Close)
	return c
}

func TestCallSendsTheDeadlineAndDropsLateAnswers(t *testing.T) {
	p := listen(t)
	c := dialPeer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctx, "hang", nil, nil) }()
	call := p.read()
	ms, ok := call.Lookup("maxTimeMS").AsInt64OK()
	if !ok || ms <= 0 || ms > time.Minute.Milliseconds() {
		t.Fatalf("maxTimeMS of %v in %v", ms, call)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	// The answer to the call given up comes late: dropped; the next
	// call's goes through.
	p.write(bson.D{{Key: "reply", Value: "late"}, {Key: "id", Value: call.Lookup("id")}})
	var s string
	go func() { errc <- c.Call(context.Background(), "next", nil, &s) }()
	next := p.read()
	if next.Lookup("maxTimeMS").Type != 0 {
		t.Errorf("maxTimeMS sent without a deadline: %v", next)
	}
	p.write(bson.D{{Key: "reply", Value: "on time"}, {Key: "id", Value: next.Lookup("id")}})
	if err := <-errc; err != nil || s != "on time" {
		t.Fatalf("next call: %q, %v", s, err)
	}
}

func TestCallTimesOutLocally(t *testing.T) {
	p := listen(t)
	c := dialPeer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "hang", nil, nil)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Message != Timeout {
		t.Fatalf("err %v is no Timeout *Error", err)
	}
}

func TestCallDefaultTimeoutIsSentAndCapsTheContext(t *testing.T) {
	p := listen(t)
	c := dialPeer(t, p, WithTimeout(250*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctx, "hang", nil, nil) }()
	call := p.read()
	if ms, _ := call.Lookup("maxTimeMS").AsInt64OK(); ms != 250 {
		t.Errorf("maxTimeMS %d, want the client's 250", ms)
	}
	if err := <-errc; !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v", err)
	}
}

func TestOneBadAnswerFailsOneCall(t *testing.T) {
	p := listen(t)
	c := dialPeer(t, p)
	errs := make(chan error, 2)
	var good int
	go func() { errs <- c.Call(context.Background(), "bad", nil, nil) }()
	bad := p.read()
	go func() { errs <- c.Call(context.Background(), "good", nil, &good) }()
	ok := p.read()
	// An error answer whose error is not a document: unreadable, but its
	// id is.
	p.write(bson.D{{Key: "error", Value: 1}, {Key: "id", Value: bad.Lookup("id")}})
	if err := <-errs; !errors.Is(err, ErrBadMessage) {
		t.Fatalf("bad answer: %v", err)
	}
	p.write(bson.D{{Key: "reply", Value: 7}, {Key: "id", Value: ok.Lookup("id")}})
	if err := <-errs; err != nil || good != 7 {
		t.Fatalf("good answer: %d, %v", good, err)
	}
}

func TestErrorsNameTheFunctionAndArgument(t *testing.T) {
	c := dial(t, serveAdd(t))
	err := c.Call(context.Background(), "add", []any{1, "two"}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Message != BadArguments {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"add", "2"} {
		if !strings.Contains(e.Detail, want) {
			t.Errorf("detail %q does not say %q", e.Detail, want)
		}
	}
	err = c.Call(context.Background(), "nope", nil, nil)
	if !errors.Is(err, ErrNoSuchFunction) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
}

func TestClientReconnects(t *testing.T) {
	p := listen(t)
	connected := make(chan struct{}, 2)
	c := dialPeer(t, p, WithReconnectDelay(time.Millisecond, 5*time.Millisecond), func(c *Client) {
		c.onConnect = func() { connected <- struct{}{} }
	})
	<-connected
	if c.rf.MaxDelay != 5*time.Millisecond {
		t.Fatalf("back-off capped at %v", c.rf.MaxDelay)
	}
	first := p.c
	first.Close()
	p.accept() // the client's second connection
	<-connected
	var s string
	errc := make(chan error, 1)
	go func() { errc <- c.Call(context.Background(), "again", nil, &s) }()
	call := p.read()
	p.write(bson.D{{Key: "reply", Value: "back"}, {Key: "id", Value: call.Lookup("id")}})
	if err := <-errc; err != nil || s != "back" {
		t.Fatalf("call after reconnecting: %q, %v", s, err)
	}
}

func TestReconnectBackOffIsCappedByDefault(t *testing.T) {
	c := newClient(nil, nil)
	if c.maxDelay != DefaultMaxReconnectDelay || DefaultMaxReconnectDelay != 30*time.Second {
		t.Fatalf("cap %v", c.maxDelay)
	}
}

func TestAnswerOverTheLimitClosesTheConnection(t *testing.T) {
	p := listen(t)
	c := dialPeer(t, p, WithClientMaxMessageSize(64), WithReconnectDelay(time.Millisecond, time.Millisecond))
	errc := make(chan error, 1)
	go func() { errc <- c.Call(context.Background(), "big", nil, nil) }()
	p.read()
	if _, err := p.c.Write([]byte{0, 0, 1, 0}); err != nil { // a 256-byte answer announced
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("err %v", err)
	}
	p.accept() // and the client comes back
}
