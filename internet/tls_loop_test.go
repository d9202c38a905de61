//go:build unix

package internet

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twistgo/twist/reactor"
)

// echoPair runs a client that writes msgs one after the other, each once
// the echo of the one before has come back, against an echoing server, over
// in-memory transports shaped by shape; the client closes after the last.
func echoPair(t *testing.T, ccfg, scfg *tls.Config, msgs []string, shape func(c, s *memTransport)) (client, server *tlsRecorder, cl, sl *tlsLayer) {
	t.Helper()
	client, server = &tlsRecorder{}, &tlsRecorder{}
	next, want := 0, ""
	send := func(tr Transport) {
		want += msgs[next]
		_, _ = tr.Write([]byte(msgs[next]))
		next++
	}
	client.onMade = send
	client.onData = func([]byte) {
		if client.received.String() != want {
			return
		}
		if next == len(msgs) {
			client.Transport.LoseConnection()
			return
		}
		send(client.Transport)
	}
	server.onData = func(data []byte) { _, _ = server.Transport.Write(data) }
	runLoopForTest(t, func(loop *reactor.Reactor) {
		lost := 0
		for _, r := range []*tlsRecorder{client, server} {
			r.onLost = func(error) {
				if lost++; lost == 2 {
					loop.Stop()
				}
			}
		}
		cl = newTLSLayer(nil, client, tlsMinVersion(ccfg), true)
		sl = newTLSLayer(nil, server, tlsMinVersion(scfg), false)
		ct, st := memPipe(loop, cl, sl)
		if shape != nil {
			shape(ct, st)
		}
	})
	if got := client.received.String(); got != want || next != len(msgs) {
		t.Errorf("client got %q, want %q", got, want)
	}
	return client, server, cl, sl
}

// Records cut anywhere, down to a byte a read, are put together: the adapter's
// "no data" error leaves crypto/tls's partial record (and partial
// post-handshake message) in place for the next read.
func TestTLSRecordsSplitAcrossReads(t *testing.T) {
	msgs := []string{"a", strings.Repeat("b", 300), strings.Repeat("c", 40<<10), "d"}
	for _, chunk := range []int{1, 7, 1000} {
		client, server, _, _ := echoPair(t, clientConfig(), serverConfig(), msgs, func(c, s *memTransport) {
			c.chunk, s.chunk = chunk, chunk
		})
		if !errors.Is(client.reason, ErrConnectionDone) || !errors.Is(server.reason, ErrConnectionDone) {
			t.Errorf("chunk %d: reasons %v, %v", chunk, client.reason, server.reason)
		}
	}
}

// TLS 1.2 works the same way, and the ALPN protocol chosen is in the
// ConnectionState of both sides.
func TestTLSVersionsAndALPN(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		ccfg, scfg := clientConfig(), serverConfig()
		ccfg.MaxVersion = version
		ccfg.NextProtos = []string{"h2", "http/1.1"}
		scfg.NextProtos = []string{"h2"}
		var states []tls.ConnectionState
		client, server := &tlsRecorder{}, &tlsRecorder{}
		client.onMade = func(tr Transport) {
			states = append(states, tr.(TLSTransport).ConnectionState())
			_, _ = tr.Write([]byte("ping"))
		}
		server.onMade = func(tr Transport) { states = append(states, tr.(TLSTransport).ConnectionState()) }
		server.onData = func(data []byte) { _, _ = server.Transport.Write(data) }
		client.onData = func([]byte) { client.Transport.LoseConnection() }
		tlsPair(t, client, server, ccfg, scfg)
		if client.received.String() != "ping" {
			t.Errorf("version %x: client got %q", version, client.received.String())
		}
		for _, st := range states {
			if !st.HandshakeComplete || st.Version != version || st.NegotiatedProtocol != "h2" {
				t.Errorf("state: complete %v, version %x, ALPN %q; want %x and h2", st.HandshakeComplete, st.Version, st.NegotiatedProtocol, version)
			}
		}
		if !errors.Is(client.reason, ErrConnectionDone) || !errors.Is(server.reason, ErrConnectionDone) {
			t.Errorf("version %x: reasons %v, %v", version, client.reason, server.reason)
		}
	}
}

// ticketCache is a ClientSessionCache that counts what it is given.
type ticketCache struct {
	tls.ClientSessionCache
	puts int
}

func (c *ticketCache) Put(key string, cs *tls.ClientSessionState) {
	c.puts++
	c.ClientSessionCache.Put(key, cs)
}

// The TLS 1.3 server's NewSessionTicket arrives after the client's handshake
// is done: crypto/tls handles it inside Read, on the loop, and the next
// connection resumes the session with it.
func TestTLSSessionTicketAfterTheHandshake(t *testing.T) {
	cache := &ticketCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	ccfg := clientConfig()
	ccfg.ClientSessionCache = cache
	scfg := serverConfig()
	// One configuration for both connections, not a copy each: the
	// ticket keys are the configuration's.
	scfg.MinVersion = tls.VersionTLS12
	_, _, cl, _ := echoPair(t, ccfg, scfg, []string{"one"}, nil)
	if cache.puts == 0 || cl.ConnectionState().DidResume {
		t.Fatalf("the first connection stored %d tickets, resumed %v", cache.puts, cl.ConnectionState().DidResume)
	}
	_, _, cl, _ = echoPair(t, ccfg, scfg, []string{"two"}, nil)
	if !cl.ConnectionState().DidResume {
		t.Errorf("the second connection did not resume the session")
	}
}

// A record changed on the way fails to decrypt: crypto/tls, on the loop,
// sends the bad_record_mac alert, which ends the peer's connection with the
// alert, and the layer closes its connection with the error.
func TestTLSAlertOnACorruptRecord(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	var clientLower *memTransport
	client.onMade = func(tr Transport) {
		// Records from now on are application data: spoil the next.
		clientLower.tamper = func(chunk []byte) {
			chunk[len(chunk)-1] ^= 1
			clientLower.tamper = nil
		}
		_, _ = tr.Write([]byte("spoilt"))
	}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		lost := 0
		for _, r := range []*tlsRecorder{client, server} {
			r.onLost = func(error) {
				if lost++; lost == 2 {
					loop.Stop()
				}
			}
		}
		cl := newTLSLayer(nil, client, clientConfig(), true)
		sl := newTLSLayer(nil, server, serverConfig(), false)
		clientLower, _ = memPipe(loop, cl, sl)
	})
	if server.received.Len() != 0 {
		t.Errorf("the server got %q from a corrupt record", server.received.String())
	}
	for _, side := range []struct {
		name, op string
		reason   error
	}{{"server", "local error", server.reason}, {"client", "remote error", client.reason}} {
		var alert *net.OpError
		if !errors.Is(side.reason, ErrConnectionLost) || !errors.As(side.reason, &alert) ||
			alert.Op != side.op || !strings.Contains(alert.Error(), "bad record MAC") {
			t.Errorf("%s's reason %v, want ErrConnectionLost with a %s: bad record MAC", side.name, side.reason, side.op)
		}
	}
}

// A close_notify that comes while the protocol paused reading waits, with
// the data before it, until it resumes.
func TestTLSCloseNotifyWhilePaused(t *testing.T) {
	client, server := &tlsRecorder{}, &tlsRecorder{}
	var lostBeforeResume bool
	client.onMade = func(tr Transport) {
		_, _ = tr.Write([]byte("first"))
	}
	server.onData = func([]byte) {
		if server.received.String() != "first" {
			return
		}
		server.Transport.PauseProducing()
		_, _ = client.Transport.Write([]byte("second"))
		client.Transport.LoseConnection()
		loop := server.Transport.(Looper).Loop()
		loop.CallLater(10*time.Millisecond, func() {
			lostBeforeResume = server.lost > 0
			server.Transport.ResumeProducing()
		})
	}
	tlsPair(t, client, server, clientConfig(), serverConfig())
	if server.received.String() != "firstsecond" || lostBeforeResume {
		t.Errorf("server got %q, lost before resuming %v", server.received.String(), lostBeforeResume)
	}
	if !errors.Is(server.reason, ErrConnectionDone) {
		t.Errorf("server's reason %v, want ErrConnectionDone", server.reason)
	}
}

// withHandshakeLimits sets the handshake limits for a test.
func withHandshakeLimits(t *testing.T, lim TLSHandshakeLimits) {
	SetTLSHandshakeLimits(lim)
	t.Cleanup(func() { SetTLSHandshakeLimits(TLSHandshakeLimits{}) })
}

// A client that connects and sends nothing holds no goroutine, and is
// dropped at the handshake's time-out.
func TestTLSHandshakeTimeout(t *testing.T) {
	withHandshakeLimits(t, TLSHandshakeLimits{Timeout: 50 * time.Millisecond})
	server := &tlsRecorder{}
	silent := &tlsRecorder{}
	var startedWhileSilent bool
	runStreamTest(t, func(loop *reactor.Reactor) {
		var port *Port
		server.onLost = func(error) {
			port.StopListening()
			_ = loop.Stop()
		}
		tf := TLSFactory(serverConfig(), FactoryFunc(func(net.Addr) Protocol { return server }), false)
		var layer *tlsLayer
		port = mustListenTCP(t, loop, FactoryFunc(func(addr net.Addr) Protocol {
			p := tf.BuildProtocol(addr)
			layer = p.(*tlsLayer)
			return p
		}))
		silent.onMade = func(Transport) {
			loop.CallLater(20*time.Millisecond, func() {
				startedWhileSilent = layer == nil || layer.hs == nil || layer.hs.submitted
			})
		}
		ConnectProtocol(loop, port.Addr().String(), silent)
	})
	if server.made != 0 || !errors.Is(server.reason, ErrTLSHandshakeTimeout) || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("made %d, reason %v; want ErrTLSHandshakeTimeout", server.made, server.reason)
	}
	if startedWhileSilent {
		t.Errorf("a handshake goroutine ran for a client that sent nothing")
	}
}

// slowConn makes a client slow: each of its writes waits first.
type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c slowConn) Write(b []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(b)
}

// floodEnv gives TestTLSFloodClients the address to flood.
const floodEnv = "TWIST_TLS_FLOOD_ADDR"

// TestTLSFloodClients is TestTLSHandshakeFlood's client process: it runs
// only when floodEnv is set. Each client connects, handshakes through a
// slow connection and closes.
func TestTLSFloodClients(t *testing.T) {
	addr := os.Getenv(floodEnv)
	if addr == "" {
		t.Skip("the client process of TestTLSHandshakeFlood")
	}
	n, err := strconv.Atoi(os.Getenv(floodEnv + "_N"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				// The server never saw it: it counts for nothing.
				return
			}
			defer c.Close()
			// This process has a certificate of its own: it trusts the
			// server's without looking.
			tc := tls.Client(slowConn{c, 20 * time.Millisecond}, &tls.Config{InsecureSkipVerify: true})
			_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
			if tc.Handshake() == nil {
				_ = tc.Close()
			}
		})
	}
	wg.Wait()
}

// A flood of concurrent handshakes from a slow client runs on at most the
// pool's goroutines; each handshake finishes or times out, and the loop goes
// on running its timers meanwhile.
func TestTLSHandshakeFlood(t *testing.T) {
	n := 2000
	if raceEnabled || testing.Short() {
		n = 200
	}
	const concurrent = 32
	withHandshakeLimits(t, TLSHandshakeLimits{Concurrent: concurrent, Timeout: time.Second})
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	var (
		made, timedOut, otherLost int
		maxRunning                int
		maxLate                   time.Duration
		port                      *Port
	)
	built, lost, clientsDone := 0, 0, false
	stopWhenDone := func() {
		if clientsDone && lost == built {
			port.StopListening()
			_ = loop.Stop()
		}
	}
	f := FactoryFunc(func(net.Addr) Protocol {
		built++
		r := &tlsRecorder{}
		r.onMade = func(Transport) { made++ }
		r.onLost = func(reason error) {
			switch {
			case errors.Is(reason, ErrTLSHandshakeTimeout):
				timedOut++
			case r.made == 0:
				otherLost++
			}
			lost++
			stopWhenDone()
		}
		return r
	})
	// A tick every 5 ms records how late the loop runs it, and how many
	// handshake goroutines run.
	const tick = 5 * time.Millisecond
	var ticker func(due time.Time)
	ticker = func(due time.Time) {
		maxLate = max(maxLate, time.Since(due))
		tlsPool.mu.Lock()
		maxRunning = max(maxRunning, tlsPool.running)
		tlsPool.mu.Unlock()
		next := time.Now().Add(tick)
		loop.CallLater(tick, func() { ticker(next) })
	}
	loop.CallWhenRunning(func() {
		port, err = ListenTLS(loop, "127.0.0.1:0", serverConfig(), f)
		if err != nil {
			t.Error(err)
			_ = loop.Stop()
			return
		}
		ticker(time.Now())
		// The clients run in a process of their own, so that their
		// cryptography does not take the CPU from this one's loop.
		cmd := exec.Command(os.Args[0], "-test.run=^TestTLSFloodClients$")
		cmd.Env = append(os.Environ(), floodEnv+"="+port.Addr().String(), fmt.Sprintf("%s_N=%d", floodEnv, n))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Error(err)
			_ = loop.Stop()
			return
		}
		go func() {
			if err := cmd.Wait(); err != nil {
				t.Errorf("the clients' process: %v", err)
			}
			loop.CallFromThread(func() {
				clientsDone = true
				stopWhenDone()
			})
		}()
	})
	if err := loop.Run(); err != nil {
		t.Fatal(err)
	}
	if made+timedOut != n || otherLost != 0 {
		t.Errorf("%d handshakes: %d done, %d timed out, %d ended otherwise", n, made, timedOut, otherLost)
	}
	if maxRunning > concurrent {
		t.Errorf("%d handshake goroutines ran at once, the limit is %d", maxRunning, concurrent)
	}
	if maxLate > time.Second && !raceEnabled {
		t.Errorf("the loop ran a timer %v late during the flood", maxLate)
	}
	t.Logf("%d handshakes: %d done, %d timed out; at most %d goroutines; timers at most %v late", n, made, timedOut, maxRunning, maxLate)
}

// Once the handshakes are done, idle TLS connections hold no goroutine.
func TestTLSIdleConnectionsHoldNoGoroutine(t *testing.T) {
	const pairs = 50
	before := runtime.NumGoroutine()
	var layers []*tlsLayer
	runLoopForTest(t, func(loop *reactor.Reactor) {
		echoed := 0
		for range pairs {
			client, server := &tlsRecorder{}, &tlsRecorder{}
			client.onMade = func(tr Transport) { _, _ = tr.Write([]byte("ping")) }
			server.onData = func(data []byte) { _, _ = server.Transport.Write(data) }
			client.onData = func([]byte) {
				if echoed++; echoed == pairs {
					loop.Stop()
				}
			}
			cl, sl := newTLSLayer(nil, client, clientConfig(), true), newTLSLayer(nil, server, serverConfig(), false)
			memPipe(loop, cl, sl)
			layers = append(layers, cl, sl)
		}
	})
	for _, l := range layers {
		if l.hs != nil || !l.handshook {
			t.Fatalf("a layer is still in its handshake after its echo")
		}
	}
	// The pool's goroutines end just after posting their last event.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if extra := runtime.NumGoroutine() - before; extra > 0 {
		t.Errorf("%d goroutines more with %d idle TLS connections", extra, 2*pairs)
	}
}

// KeyUpdate, which crypto/tls never sends itself, comes from OpenSSL's
// s_client ("K" asks for one back): the server handles it inside Read, on
// the loop, answers with its own, and the echo goes on under the new keys.
func TestTLSKeyUpdateFromOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl (Debian package openssl) to send a KeyUpdate")
	}
	received := make(chan string, 1)
	server := &tlsRecorder{}
	server.onData = func(data []byte) {
		_, _ = server.Transport.Write(data)
		if strings.Contains(server.received.String(), "after\n") {
			received <- server.received.String()
			server.Transport.LoseConnection()
		}
	}
	runStreamTest(t, func(loop *reactor.Reactor) {
		var port *Port
		server.onLost = func(error) {
			port.StopListening()
			_ = loop.Stop()
		}
		port, err = ListenTLS(loop, "127.0.0.1:0", serverConfig(), FactoryFunc(func(net.Addr) Protocol { return server }))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			cmd := exec.Command(openssl, "s_client", "-connect", port.Addr().String(), "-tls1_3")
			in, _ := cmd.StdinPipe()
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = cmd.Stdout // where it says KEYUPDATE
			if err := cmd.Start(); err != nil {
				t.Error(err)
				return
			}
			stop := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
			defer stop.Stop()
			defer cmd.Wait()
			defer in.Close()
			lines := bufio.NewScanner(out)
			expect := func(s string) bool {
				for lines.Scan() {
					if lines.Text() == s {
						return true
					}
				}
				return false
			}
			_, _ = io.WriteString(in, "before\n")
			if !expect("before") {
				t.Error("no echo of the first line")
				return
			}
			// s_client takes a command from one read of its input: the
			// line after it goes once it has said it sent the KeyUpdate.
			_, _ = io.WriteString(in, "K\n")
			if !expect("KEYUPDATE") {
				t.Error("s_client did not send a KeyUpdate")
				return
			}
			_, _ = io.WriteString(in, "after\n")
			if !expect("after") {
				t.Error("no echo after the KeyUpdate")
			}
		}()
	})
	select {
	case got := <-received:
		if got != "before\nafter\n" {
			t.Errorf("server got %q", got)
		}
	default:
		t.Errorf("the server did not get the line after the KeyUpdate; reason %v", server.reason)
	}
}

// rawPeer writes its bytes in the clear to a TLS server, then closes.
type rawPeer struct {
	BaseProtocol
	data []byte
}

func (p *rawPeer) ConnectionMade(t Transport) {
	_, _ = t.Write(p.data)
	t.LoseConnection()
}

// FuzzTLSServerInput gives a TLS server whatever a peer may send before and
// instead of a handshake: the connection ends, once, with an error, and the
// protocol is never connected.
func FuzzTLSServerInput(f *testing.F) {
	for _, seed := range []string{
		"",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"\x16\x03\x01\xff\xff",
		"\x80\x2e\x01\x00\x02",
		"\x15\x03\x03\x00\x02\x02\x28",
		"\x16\x03\x01\x00\x04\x01\x00\x00\x00\x17\x03\x03\x00\x01x",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		server := &tlsRecorder{}
		runLoopForTest(t, func(loop *reactor.Reactor) {
			server.onLost = func(error) { loop.Stop() }
			sl := newTLSLayer(nil, server, tlsMinVersion(serverConfig()), false)
			memPipe(loop, &rawPeer{data: data}, sl)
		})
		if server.made != 0 || server.lost != 1 || server.reason == nil {
			t.Errorf("made %d, lost %d times, reason %v", server.made, server.lost, server.reason)
		}
	})
}

// puller writes a chunk each time it is asked, until total, then
// unregisters and closes.
type puller struct {
	t           Transport
	sent, total int
	asked       int
}

func (p *puller) ResumeProducing() {
	p.asked++
	if p.sent == p.total {
		return
	}
	chunk := make([]byte, min(64<<10, p.total-p.sent))
	for i := range chunk {
		chunk[i] = byte((p.sent + i) % 251)
	}
	p.sent += len(chunk)
	_, _ = p.t.Write(chunk)
	if p.sent == p.total {
		p.t.UnregisterProducer()
		p.t.LoseConnection()
	}
}

func (p *puller) StopProducing() {}

// A pull producer on a TLS connection is asked for more each time the
// socket has taken what it wrote, as on a plain connection: after the
// handshake it is the socket's producer.
func TestTLSPullProducerOverLoopback(t *testing.T) {
	const total = 2 << 20
	client, server := &tlsRecorder{}, &tlsRecorder{}
	p := &puller{total: total}
	client.onMade = func(tr Transport) {
		p.t = tr
		if err := tr.RegisterProducer(p, false); err != nil {
			t.Error(err)
		}
	}
	_, pool := testCert()
	tlsOverLoopback(t, client, server, &tls.Config{RootCAs: pool})
	got := server.received.Bytes()
	if len(got) != total {
		t.Fatalf("server got %d bytes, want %d", len(got), total)
	}
	for i, b := range got {
		if b != byte(i%251) {
			t.Fatalf("byte %d is %d, want %d", i, b, i%251)
		}
	}
	if p.asked < total/(64<<10) {
		t.Errorf("the producer was asked %d times for %d chunks", p.asked, total/(64<<10))
	}
	if !errors.Is(server.reason, ErrConnectionDone) || !errors.Is(client.reason, ErrConnectionDone) {
		t.Errorf("reasons: client %v, server %v", client.reason, server.reason)
	}
}

// Renegotiation would run a handshake inside Read, on the loop: the layer's
// configuration refuses it whatever the caller's says.
func TestTLSRefusesRenegotiation(t *testing.T) {
	cfg := clientConfig()
	cfg.MinVersion = tls.VersionTLS12
	cfg.Renegotiation = tls.RenegotiateFreelyAsClient
	if got := tlsMinVersion(cfg); got.Renegotiation != tls.RenegotiateNever || cfg.Renegotiation != tls.RenegotiateFreelyAsClient {
		t.Errorf("the layer's renegotiation %v, the caller's now %v", got.Renegotiation, cfg.Renegotiation)
	}
	f := TLSClientFactory(cfg, &tlsClientRecorder{}).(*tlsClientFactory)
	if f.cfg.Renegotiation != tls.RenegotiateNever {
		t.Errorf("TLSClientFactory keeps renegotiation %v", f.cfg.Renegotiation)
	}
}

// tlsRecords.take gives out ciphertext up to the end of each record and no
// further, wherever the reads cut the stream: in a header, at a record's
// end, with empty records.
func TestTLSRecordsTakeStopsAtRecordEnds(t *testing.T) {
	record := func(body int) []byte {
		return append([]byte{23, 3, 3, byte(body >> 8), byte(body)}, make([]byte, body)...)
	}
	stream := append(append(append(record(3), record(0)...), record(300)...), record(1)...)
	ends := []int{8, 13, 318, 324}
	for _, read := range []int{1, 2, 4, 5, 7, 100, 1000} {
		var recs tlsRecords
		var got []int
		for pos := 0; pos < len(stream); {
			n := recs.take(stream[pos:min(pos+read, len(stream))])
			if n <= 0 {
				t.Fatalf("reads of %d: take returned %d at %d", read, n, pos)
			}
			pos += n
			if recs.got == 0 {
				got = append(got, pos)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(ends) {
			t.Errorf("reads of %d: record ends at %v, want %v", read, got, ends)
		}
	}
}
