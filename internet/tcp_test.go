//go:build unix

package internet

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/twistgo/twist/reactor"
)

// streamTestGuard stops a test's loop, failing the test, if it is still
// running after this long: a guard against hangs, not a timing assertion.
const streamTestGuard = time.Minute

// runStreamTest runs a new reactor until a callback stops it; start runs on
// the loop once it is running.
func runStreamTest(t *testing.T, start func(loop *reactor.Reactor)) {
	t.Helper()
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	loop.CallWhenRunning(func() { start(loop) })
	guard := loop.CallLater(streamTestGuard, func() {
		t.Error("the test's loop was still running after", streamTestGuard)
		_ = loop.Stop()
	})
	if err := loop.Run(); err != nil {
		t.Fatal(err)
	}
	_ = guard
}

// recorder is a protocol that records what happens to it, with hooks.
type recorder struct {
	BaseProtocol
	data    []byte
	made    int
	lost    int
	reason  error
	onMade  func(r *recorder)
	onData  func(r *recorder, b []byte)
	onLost  func(r *recorder)
	inWrite bool // set while the test is inside a transport call
}

func (r *recorder) ConnectionMade(t Transport) {
	r.Transport = t
	r.made++
	if r.onMade != nil {
		r.onMade(r)
	}
}

func (r *recorder) DataReceived(b []byte) {
	r.data = append(r.data, b...)
	if r.onData != nil {
		r.onData(r, b)
	}
}

func (r *recorder) ConnectionLost(reason error) {
	if r.inWrite {
		panic("ConnectionLost called from inside a transport call")
	}
	r.lost++
	r.reason = reason
	if r.onLost != nil {
		r.onLost(r)
	}
}

// echo is a server protocol that writes back what it reads.
type echo struct{ BaseProtocol }

func (e *echo) DataReceived(b []byte) { _, _ = e.Transport.Write(b) }

// clientFactory is a ClientFactory from functions.
type clientFactory struct {
	build  func(addr net.Addr) Protocol
	failed func(c Connector, reason error)
	lost   func(c Connector, reason error)
}

func (f *clientFactory) BuildProtocol(addr net.Addr) Protocol { return f.build(addr) }

func (f *clientFactory) ClientConnectionFailed(c Connector, reason error) {
	if f.failed != nil {
		f.failed(c, reason)
	}
}

func (f *clientFactory) ClientConnectionLost(c Connector, reason error) {
	if f.lost != nil {
		f.lost(c, reason)
	}
}

func mustListenTCP(t *testing.T, loop *reactor.Reactor, f Factory, opts ...ListenOption) *Port {
	t.Helper()
	p, err := ListenTCP(loop, "127.0.0.1:0", f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pattern returns n bytes of a pattern that shows lost or reordered bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func TestTCPEchoRoundTrip(t *testing.T) {
	var server *recorder
	client := &recorder{}
	var port *Port
	runStreamTest(t, func(loop *reactor.Reactor) {
		port = mustListenTCP(t, loop, FactoryFunc(func(addr net.Addr) Protocol {
			server = &recorder{onData: func(r *recorder, b []byte) { _, _ = r.Transport.Write(b) }}
			server.onLost = func(*recorder) {
				if client.lost == 1 {
					_ = loop.Stop()
				}
			}
			return server
		}))
		client.onMade = func(r *recorder) { _, _ = r.Transport.Write([]byte("hello, world")) }
		client.onData = func(r *recorder, _ []byte) {
			if len(r.data) == len("hello, world") {
				r.Transport.LoseConnection()
			}
		}
		client.onLost = func(*recorder) {
			if server.lost == 1 {
				_ = loop.Stop()
			}
		}
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if got := string(client.data); got != "hello, world" {
		t.Errorf("the client read %q", got)
	}
	for name, r := range map[string]*recorder{"client": client, "server": server} {
		if r.made != 1 || r.lost != 1 || r.reason != ErrConnectionDone {
			t.Errorf("%s: made %d, lost %d times with %v; want once each, ErrConnectionDone", name, r.made, r.lost, r.reason)
		}
	}
	if got, want := client.Transport.RemoteAddr().String(), port.Addr().String(); got != want {
		t.Errorf("the client's RemoteAddr is %s, want %s", got, want)
	}
	if got, want := server.Transport.LocalAddr(), client.Transport.RemoteAddr(); got.String() != want.String() {
		t.Errorf("the server's LocalAddr is %v, want %v", got, want)
	}
}

func TestTCPLargeWriteIsDeliveredAndTheQueueDrains(t *testing.T) {
	const size = 8 << 20
	payload := pattern(size)
	var server *Conn
	var queuedAfterWrite int
	client := &recorder{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			return &recorder{onMade: func(r *recorder) {
				server = r.Transport.(*Conn)
				if n, err := server.Write(payload); n != size || err != nil {
					t.Errorf("Write = %d, %v", n, err)
				}
				queuedAfterWrite = server.queued()
				server.LoseConnection()
			}}
		}))
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if queuedAfterWrite == 0 {
		t.Error("nothing was queued: the test did not exercise the queue")
	}
	if server.x.out.size != 0 || server.x.out.bufs != nil {
		t.Errorf("the queue holds %d bytes in %d buffers after the close", server.x.out.size, len(server.x.out.bufs))
	}
	if !bytes.Equal(client.data, payload) {
		t.Errorf("the client read %d bytes, not the %d written", len(client.data), size)
	}
	if client.reason != ErrConnectionDone {
		t.Errorf("the client lost its connection with %v", client.reason)
	}
}

func TestTCPWriteSequence(t *testing.T) {
	client := &recorder{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			return &recorder{onMade: func(r *recorder) {
				big := pattern(4 << 20)
				if err := r.Transport.WriteSequence([][]byte{[]byte("a"), nil, big[:1<<20], big[1<<20:], []byte("z")}); err != nil {
					t.Error(err)
				}
				if err := r.Transport.WriteSequence([][]byte{[]byte("!")}); err != nil {
					t.Error(err)
				}
				r.Transport.LoseConnection()
			}}
		}))
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	want := append(append([]byte("a"), pattern(4<<20)...), "z!"...)
	if !bytes.Equal(client.data, want) {
		t.Errorf("the client read %d bytes, want %d in order", len(client.data), len(want))
	}
}

func TestTCPFactoryReturningNilRefusesTheConnection(t *testing.T) {
	client := &recorder{}
	built := 0
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { built++; return nil }))
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if built != 1 || client.lost != 1 || client.reason != ErrConnectionDone {
		t.Errorf("built %d, client lost %d times with %v", built, client.lost, client.reason)
	}
}
