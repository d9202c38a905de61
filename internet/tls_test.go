package internet

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/twistgo/twist/internal/testcert"
	"github.com/twistgo/twist/internal/testlog"
	"github.com/twistgo/twist/reactor"
)

// runLoopForTest runs a new reactor until a callback stops it; start runs on
// the loop once it is running. The reactor logs into the returned buffer.
func runLoopForTest(t testing.TB, start func(loop *reactor.Reactor)) *testlog.Buffer {
	t.Helper()
	logs := &testlog.Buffer{}
	loop, err := reactor.New(reactor.WithLogger(logs.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	loop.CallWhenRunning(func() { start(loop) })
	if err := loop.Run(); err != nil {
		t.Fatal(err)
	}
	return logs
}

// testCert is a self-signed ECDSA P-256 certificate for "example.test" and
// 127.0.0.1, made once for all the tests.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	return testcert.New("example.test", "127.0.0.1")
})

func serverConfig() *tls.Config {
	cert, _ := testCert()
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

func clientConfig() *tls.Config {
	_, pool := testCert()
	return &tls.Config{RootCAs: pool, ServerName: "example.test"}
}

// memTransport is one end of an in-memory connection on a loop: what one
// end writes is delivered to the other's protocol on a later turn, with the
// flow control of a real transport (producers paused above memHigh).
type memTransport struct {
	loop  *reactor.Reactor
	proto Protocol
	peer  *memTransport
	name  string

	queue          []byte
	maxQueued      int
	flushScheduled bool
	readPaused     bool
	producer       Producer
	producerPaused bool
	disconnecting  bool
	closed         bool
	// chunk, if set, is the most one DataReceived of the peer gets, and
	// tamper, if set, may change each chunk before the peer gets it.
	chunk  int
	tamper func(chunk []byte)
}

const memHigh = 64 << 10

// memPipe connects a and b on loop and makes both connections.
func memPipe(loop *reactor.Reactor, a, b Protocol) (*memTransport, *memTransport) {
	ta := &memTransport{loop: loop, proto: a, name: "a"}
	tb := &memTransport{loop: loop, proto: b, name: "b"}
	ta.peer, tb.peer = tb, ta
	a.ConnectionMade(ta)
	b.ConnectionMade(tb)
	return ta, tb
}

func (t *memTransport) Loop() *reactor.Reactor { return t.loop }

func (t *memTransport) Write(b []byte) (int, error) {
	if t.closed || t.disconnecting {
		return 0, ErrConnectionClosed
	}
	t.queue = append(t.queue, b...)
	t.maxQueued = max(t.maxQueued, len(t.queue))
	if p, ok := t.producer.(PushProducer); ok && !t.producerPaused && len(t.queue) > memHigh {
		t.producerPaused = true
		p.PauseProducing()
	}
	t.scheduleFlush()
	return len(b), nil
}

func (t *memTransport) WriteSequence(bufs [][]byte) error {
	for _, b := range bufs {
		if _, err := t.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (t *memTransport) scheduleFlush() {
	if !t.flushScheduled {
		t.flushScheduled = true
		t.loop.CallLater(0, t.flush)
	}
}

// flush delivers the queue to the peer in reads of at most 64 KiB (or
// t.chunk), as a socket would, while the peer reads.
func (t *memTransport) flush() {
	t.flushScheduled = false
	for len(t.queue) > 0 && !t.closed && !t.peer.readPaused {
		n := min(len(t.queue), cmp.Or(t.chunk, 64<<10))
		chunk := t.queue[:n]
		t.queue = t.queue[n:]
		if t.tamper != nil {
			t.tamper(chunk)
		}
		t.peer.proto.DataReceived(chunk)
	}
	if len(t.queue) == 0 {
		t.queue = nil
	}
	if p, ok := t.producer.(PushProducer); ok && t.producerPaused && len(t.queue) < memHigh/2 {
		t.producerPaused = false
		p.ResumeProducing()
	}
	if t.disconnecting && len(t.queue) == 0 && t.producer == nil && !t.closed {
		t.closeBoth(ErrConnectionDone, ErrConnectionDone)
	}
}

func (t *memTransport) closeBoth(mine, peers error) {
	for _, side := range []struct {
		t      *memTransport
		reason error
	}{{t, mine}, {t.peer, peers}} {
		if side.t.closed {
			continue
		}
		side.t.closed = true
		if side.t.producer != nil {
			side.t.producer.StopProducing()
		}
		proto, reason := side.t.proto, side.reason
		t.loop.CallLater(0, func() { proto.ConnectionLost(reason) })
	}
}

func (t *memTransport) LoseConnection() {
	t.disconnecting = true
	t.scheduleFlush()
}

var errMemAborted = errors.New("aborted")

func (t *memTransport) AbortConnection() {
	t.queue = nil
	t.closeBoth(errors.Join(ErrConnectionLost, errMemAborted), ErrConnectionLost)
}

func (t *memTransport) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (t *memTransport) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}
}
func (t *memTransport) PauseProducing() { t.readPaused = true }
func (t *memTransport) ResumeProducing() {
	t.readPaused = false
	t.peer.scheduleFlush()
}
func (t *memTransport) StopProducing() { t.LoseConnection() }
func (t *memTransport) RegisterProducer(p Producer, streaming bool) error {
	if t.producer != nil {
		return ErrProducerRegistered
	}
	t.producer = p
	return nil
}
func (t *memTransport) UnregisterProducer() {
	t.producer = nil
	if t.disconnecting {
		t.scheduleFlush()
	}
}

// tlsRecorder records what its TLS transport tells it.
type tlsRecorder struct {
	BaseProtocol
	made     int
	received bytes.Buffer
	reason   error
	lost     int
	onMade   func(t Transport)
	onData   func(data []byte)
	onLost   func(reason error)
}

func (r *tlsRecorder) ConnectionMade(t Transport) {
	r.Transport = t
	r.made++
	if r.onMade != nil {
		r.onMade(t)
	}
}

func (r *tlsRecorder) DataReceived(data []byte) {
	r.received.Write(data)
	if r.onData != nil {
		r.onData(data)
	}
}

func (r *tlsRecorder) ConnectionLost(reason error) {
	r.reason = reason
	r.lost++
	if r.onLost != nil {
		r.onLost(reason)
	}
}

// tlsPair runs a client and a server protocol over TLS layers joined by an
// in-memory connection, until both connections are lost.
func tlsPair(t *testing.T, client, server *tlsRecorder, ccfg, scfg *tls.Config) (cl, sl *tlsLayer) {
	t.Helper()
	runLoopForTest(t, func(loop *reactor.Reactor) {
		lost := 0
		for _, r := range []*tlsRecorder{client, server} {
			onLost := r.onLost
			r.onLost = func(reason error) {
				if onLost != nil {
					onLost(reason)
				}
				if lost++; lost == 2 {
					loop.Stop()
				}
			}
		}
		cl = newTLSLayer(nil, client, tlsMinVersion(ccfg), true)
		sl = newTLSLayer(nil, server, tlsMinVersion(scfg), false)
		memPipe(loop, cl, sl)
	})
	return cl, sl
}

func TestTLSHandshakeAndEcho(t *testing.T) {
	client := &tlsRecorder{}
	server := &tlsRecorder{}
	client.onMade = func(tr Transport) { tr.Write([]byte("hello, TLS")) }
	client.onData = func([]byte) {
		if client.received.Len() == len("hello, TLS") {
			client.Transport.LoseConnection()
		}
	}
	server.onData = func(data []byte) { server.Transport.Write(data) }
	cl, _ := tlsPair(t, client, server, clientConfig(), serverConfig())
	if client.received.String() != "hello, TLS" {
		t.Errorf("client got %q, want the echo", client.received.String())
	}
	if client.made != 1 || server.made != 1 || client.lost != 1 || server.lost != 1 {
		t.Errorf("made %d/%d, lost %d/%d times; want 1 each", client.made, server.made, client.lost, server.lost)
	}
	for _, r := range []*tlsRecorder{client, server} {
		if !errors.Is(r.reason, ErrConnectionDone) {
			t.Errorf("reason %v, want ErrConnectionDone", r.reason)
		}
	}
	st := cl.ConnectionState()
	if !st.HandshakeComplete || st.Version != tls.VersionTLS13 || st.ServerName != "example.test" {
		t.Errorf("client's state: complete %v, version %x, server name %q", st.HandshakeComplete, st.Version, st.ServerName)
	}
	if tr, ok := client.Transport.(TLSTransport); !ok || tr.RemoteAddr() == nil || tr.LocalAddr() == nil {
		t.Errorf("the transport is not a TLSTransport with addresses")
	}
}

// Data written just before LoseConnection arrives before the close, and the
// peer's close_notify ends the other side cleanly.
func TestTLSCloseNotify(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	var writeAfterClose error
	client.onMade = func(tr Transport) {
		tr.Write([]byte("last words"))
		tr.LoseConnection()
		_, writeAfterClose = tr.Write([]byte("too late"))
	}
	var receivedBeforeLost string
	server.onLost = func(error) { receivedBeforeLost = server.received.String() }
	_, sl := tlsPair(t, client, server, clientConfig(), serverConfig())
	if receivedBeforeLost != "last words" {
		t.Errorf("server got %q before ConnectionLost, want %q", receivedBeforeLost, "last words")
	}
	if !errors.Is(server.reason, ErrConnectionDone) || !errors.Is(client.reason, ErrConnectionDone) {
		t.Errorf("reasons: server %v, client %v; want ErrConnectionDone", server.reason, client.reason)
	}
	if sl.tlsErr != errTLSClosedByPeer {
		t.Errorf("the server's TLS ended with %v, want the peer's close_notify", sl.tlsErr)
	}
	if !errors.Is(writeAfterClose, ErrConnectionClosed) {
		t.Errorf("Write after LoseConnection: %v, want ErrConnectionClosed", writeAfterClose)
	}
}

// A connection closed under TLS without close_notify is reported as lost,
// not done: the data may be truncated.
func TestTLSTruncationIsNotClean(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	var lower Transport
	client.onMade = func(Transport) { lower.LoseConnection() }
	runLoopForTest(t, func(loop *reactor.Reactor) {
		server.onLost = func(error) { loop.Stop() }
		cl := newTLSLayer(nil, client, clientConfig(), true)
		sl := newTLSLayer(nil, server, serverConfig(), false)
		lower, _ = memPipe(loop, cl, sl)
		cl.lower.UnregisterProducer()
	})
	if !errors.Is(server.reason, ErrTLSTruncated) || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("server's reason %v, want ErrConnectionLost with ErrTLSTruncated", server.reason)
	}
}

func TestTLSHandshakeFailure(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	unknownCA := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "example.test"}
	tlsPair(t, client, server, unknownCA, serverConfig())
	if client.made != 0 || server.made != 0 {
		t.Errorf("ConnectionMade called %d/%d times after a failed handshake", client.made, server.made)
	}
	var verr *tls.CertificateVerificationError
	if !errors.As(client.reason, &verr) || !errors.Is(client.reason, ErrConnectionLost) {
		t.Errorf("client's reason %v, want ErrConnectionLost with a certificate verification error", client.reason)
	}
	// crypto/tls reports the peer's alert as a "remote error".
	var alert *net.OpError
	if !errors.As(server.reason, &alert) || alert.Op != "remote error" || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("server's reason %v, want the client's TLS alert", server.reason)
	}
}

func TestTLSAbortConnection(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	client.onMade = func(tr Transport) {
		tr.Write([]byte("dropped"))
		tr.AbortConnection()
		if _, err := tr.Write([]byte("x")); !errors.Is(err, ErrConnectionClosed) {
			t.Errorf("Write after AbortConnection: %v", err)
		}
	}
	tlsPair(t, client, server, clientConfig(), serverConfig())
	if !errors.Is(client.reason, errMemAborted) {
		t.Errorf("client's reason %v, want the lower transport's abort", client.reason)
	}
	if !errors.Is(server.reason, ErrConnectionLost) || errors.Is(server.reason, ErrConnectionDone) {
		t.Errorf("server's reason %v, want ErrConnectionLost", server.reason)
	}
	if server.received.Len() != 0 {
		t.Errorf("server got %q after the client aborted before sending", server.received.String())
	}
}

// pusher writes total bytes of a pattern through a push producer, pausing
// when told.
type pusher struct {
	t       Transport
	sent    int
	total   int
	paused  bool
	onDone  func()
	loop    *reactor.Reactor
	pending bool
}

func (p *pusher) PauseProducing() { p.paused = true }
func (p *pusher) ResumeProducing() {
	p.paused = false
	p.schedule()
}
func (p *pusher) StopProducing() { p.paused = true }

func (p *pusher) schedule() {
	if !p.pending {
		p.pending = true
		p.loop.CallLater(0, p.produce)
	}
}

// produce writes 32 KiB chunks until paused or done, a turn at a time.
func (p *pusher) produce() {
	p.pending = false
	chunk := make([]byte, 32<<10)
	for !p.paused && p.sent < p.total {
		n := min(len(chunk), p.total-p.sent)
		for i := range n {
			chunk[i] = byte((p.sent + i) % 251)
		}
		p.t.Write(chunk[:n])
		p.sent += n
	}
	if p.sent == p.total && p.onDone != nil {
		p.onDone()
		p.onDone = nil
	}
}

// Several MiB each way at once, with producers, keep every buffer bounded.
func TestTLSBigPayloadsBothWaysWithBoundedBuffers(t *testing.T) {
	const total = 6 << 20
	client, server := &tlsRecorder{}, &tlsRecorder{}
	var cl, sl *tlsLayer
	var lowers [2]*memTransport
	maxima := map[string]int{}
	observe := func() {
		for i, l := range []*tlsLayer{cl, sl} {
			for name, n := range map[string]int{"held": len(l.held), "plainOut": len(l.plainOut)} {
				key := []string{"client ", "server "}[i] + name
				maxima[key] = max(maxima[key], n)
			}
		}
	}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		finished := 0
		for _, r := range []*tlsRecorder{client, server} {
			r.onMade = func(tr Transport) {
				p := &pusher{t: tr, total: total, loop: loop}
				p.onDone = func() { tr.UnregisterProducer() }
				if err := tr.RegisterProducer(p, true); err != nil {
					t.Error(err)
				}
				p.schedule()
			}
			r.onData = func([]byte) {
				observe()
				if r.received.Len() == total {
					if finished++; finished == 2 {
						client.Transport.LoseConnection()
					}
				}
			}
		}
		server.onLost = func(error) { loop.Stop() }
		cl = newTLSLayer(nil, client, clientConfig(), true)
		sl = newTLSLayer(nil, server, serverConfig(), false)
		lowers[0], lowers[1] = memPipe(loop, cl, sl)
	})
	for _, r := range []*tlsRecorder{client, server} {
		got := r.received.Bytes()
		if len(got) != total {
			t.Fatalf("received %d bytes, want %d", len(got), total)
		}
		for i, b := range got {
			if b != byte(i%251) {
				t.Fatalf("byte %d is %d, want %d", i, b, i%251)
			}
		}
	}
	const slack = 64 << 10 // one read of the lower transport, or one chunk
	bounds := map[string]int{"held": slack, "plainOut": tlsPlainOutHigh + slack}
	for key, n := range maxima {
		for name, bound := range bounds {
			if key[len(key)-len(name):] == name && n > bound {
				t.Errorf("%s reached %d bytes, bound %d", key, n, bound)
			}
		}
	}
	for _, lt := range lowers {
		if lt.maxQueued > 2*memHigh+slack {
			t.Errorf("lower transport %s queued %d bytes", lt.name, lt.maxQueued)
		}
	}
	if !errors.Is(client.reason, ErrConnectionDone) || !errors.Is(server.reason, ErrConnectionDone) {
		t.Errorf("reasons %v, %v", client.reason, server.reason)
	}
}

// Pausing the TLS transport stops DataReceived; resuming delivers the rest.
func TestTLSPauseReading(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	var deliveriesWhilePaused int
	paused := false
	runLoopForTest(t, func(loop *reactor.Reactor) {
		client.onMade = func(tr Transport) {
			tr.Write([]byte("one"))
		}
		server.onData = func([]byte) {
			if paused {
				deliveriesWhilePaused++
			}
			switch server.received.String() {
			case "one":
				server.Transport.PauseProducing()
				paused = true
				client.Transport.Write([]byte("two"))
				// Several turns later, resume.
				var wait func(n int)
				wait = func(n int) {
					if n == 0 {
						paused = false
						server.Transport.ResumeProducing()
						return
					}
					loop.CallLater(0, func() { wait(n - 1) })
				}
				wait(20)
			case "onetwo":
				client.Transport.LoseConnection()
			}
		}
		server.onLost = func(error) { loop.Stop() }
		cl, sl := newTLSLayer(nil, client, clientConfig(), true), newTLSLayer(nil, server, serverConfig(), false)
		memPipe(loop, cl, sl)
	})
	if server.received.String() != "onetwo" || deliveriesWhilePaused != 0 {
		t.Errorf("server got %q, %d deliveries while paused", server.received.String(), deliveriesWhilePaused)
	}
}

func TestTLSFactoryWrapsProtocols(t *testing.T) {
	var built []net.Addr
	f := TLSFactory(&tls.Config{MinVersion: tls.VersionTLS10}, FactoryFunc(func(addr net.Addr) Protocol {
		built = append(built, addr)
		if len(built) == 2 {
			return nil
		}
		return &tlsRecorder{}
	}), false)
	addr := &net.TCPAddr{Port: 7}
	l, ok := f.BuildProtocol(addr).(*tlsLayer)
	if !ok || len(built) != 1 || built[0] != addr {
		t.Fatalf("BuildProtocol did not wrap the protocol built for addr")
	}
	if p := f.BuildProtocol(addr); p != nil {
		t.Errorf("a refused connection was wrapped: %v", p)
	}
	if v := l.conn.ConnectionState().Version; v != 0 {
		t.Errorf("version before the handshake %x", v)
	}
	if f.(*tlsFactory).cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2 at least", f.(*tlsFactory).cfg.MinVersion)
	}
}

// tlsClientRecorder is a client factory for one tlsRecorder.
type tlsClientRecorder struct {
	BaseClientFactory
	p *tlsRecorder
}

func (f *tlsClientRecorder) BuildProtocol(net.Addr) Protocol { return f.p }

// tlsOverLoopback serves server over ListenTLS and connects client with
// ConnectTLS, on one loop, until both connections are lost.
func tlsOverLoopback(t *testing.T, client, server *tlsRecorder, ccfg *tls.Config) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the reactor watches no sockets on Windows")
	}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		lost := 0
		var port *Port
		for _, r := range []*tlsRecorder{client, server} {
			onLost := r.onLost
			r.onLost = func(reason error) {
				if onLost != nil {
					onLost(reason)
				}
				if lost++; lost == 2 {
					port.StopListening()
					loop.Stop()
				}
			}
		}
		var err error
		port, err = ListenTLS(loop, "127.0.0.1:0", serverConfig(), FactoryFunc(func(net.Addr) Protocol { return server }))
		if err != nil {
			t.Fatal(err)
		}
		ConnectTLS(loop, port.Addr().String(), ccfg, &tlsClientRecorder{p: client})
	})
}

func TestTLSOverLoopback(t *testing.T) {
	const total = 4 << 20
	client, server := &tlsRecorder{}, &tlsRecorder{}
	server.onData = func(data []byte) { server.Transport.Write(data) }
	client.onMade = func(tr Transport) {
		p := &pusher{t: tr, total: total, loop: tr.(Looper).Loop()}
		p.onDone = func() { tr.UnregisterProducer() }
		if err := tr.RegisterProducer(p, true); err != nil {
			t.Error(err)
		}
		p.schedule()
	}
	client.onData = func([]byte) {
		if client.received.Len() == total {
			client.Transport.LoseConnection()
		}
	}
	// No ServerName: ConnectTLS verifies the certificate against the IP.
	_, pool := testCert()
	tlsOverLoopback(t, client, server, &tls.Config{RootCAs: pool})
	got := client.received.Bytes()
	if len(got) != total {
		t.Fatalf("the echo brought back %d bytes, want %d", len(got), total)
	}
	for i, b := range got {
		if b != byte(i%251) {
			t.Fatalf("byte %d is %d, want %d", i, b, i%251)
		}
	}
	if !errors.Is(client.reason, ErrConnectionDone) || !errors.Is(server.reason, ErrConnectionDone) {
		t.Errorf("reasons: client %v, server %v; want ErrConnectionDone", client.reason, server.reason)
	}
	if st := client.Transport.(TLSTransport).ConnectionState(); st.Version != tls.VersionTLS13 {
		t.Errorf("version %x, want TLS 1.3", st.Version)
	}
	if client.Transport.RemoteAddr().String() != server.Transport.LocalAddr().String() {
		t.Errorf("client's peer %v is not the server's address %v", client.Transport.RemoteAddr(), server.Transport.LocalAddr())
	}
}

func TestTLSOverLoopbackUnknownCA(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	tlsOverLoopback(t, client, server, &tls.Config{RootCAs: x509.NewCertPool()})
	var verr *tls.CertificateVerificationError
	if client.made != 0 || server.made != 0 || !errors.As(client.reason, &verr) {
		t.Errorf("made %d/%d, client's reason %v; want no ConnectionMade and a verification error",
			client.made, server.made, client.reason)
	}
}

// BenchmarkTLSIdleConnectionMemory measures what an idle TLS layer holds
// (goroutine stack and heap) after its handshake and one small exchange,
// over in-memory transports: the TCP connection's own cost is not counted.
func BenchmarkTLSIdleConnectionMemory(b *testing.B) {
	const pairs = 500
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var layers []*tlsLayer
		runLoopForTest(b, func(loop *reactor.Reactor) {
			echoed := 0
			for range pairs {
				client, server := &tlsRecorder{}, &tlsRecorder{}
				client.onMade = func(tr Transport) { tr.Write([]byte("ping")) }
				server.onData = func(data []byte) { server.Transport.Write(data) }
				client.onData = func([]byte) {
					if echoed++; echoed == pairs {
						loop.Stop()
					}
				}
				cl := newTLSLayer(nil, client, clientConfig(), true)
				sl := newTLSLayer(nil, server, serverConfig(), false)
				memPipe(loop, cl, sl)
				layers = append(layers, cl, sl)
			}
		})
		runtime.GC()
		runtime.ReadMemStats(&after)
		n := float64(len(layers))
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/n, "heap-bytes/conn")
		b.ReportMetric((float64(after.StackInuse)-float64(before.StackInuse))/n, "stack-bytes/conn")
		for _, l := range layers {
			l.AbortConnection()
		}
	}
}

// BenchmarkTLSThroughput sends 64 KiB a time through a client and a server
// layer over in-memory transports on one loop.
func BenchmarkTLSThroughput(b *testing.B) {
	const chunk = 64 << 10
	b.SetBytes(chunk)
	total := b.N * chunk
	client, server := &tlsRecorder{}, &tlsRecorder{}
	received := 0
	runLoopForTest(b, func(loop *reactor.Reactor) {
		client.onMade = func(tr Transport) {
			p := &pusher{t: tr, total: total, loop: loop}
			p.onDone = func() { tr.UnregisterProducer() }
			_ = tr.RegisterProducer(p, true)
			p.schedule()
		}
		server.onData = func(data []byte) {
			received += len(data)
			server.received.Reset()
			if received == total {
				loop.Stop()
			}
		}
		memPipe(loop, newTLSLayer(nil, client, clientConfig(), true), newTLSLayer(nil, server, serverConfig(), false))
	})
}
