//go:build unix

package internet

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/twistgo/twist/reactor"
)

// starttlsLine is one side of a line protocol that switches to TLS when the
// client asks: the client sends "STARTTLS", the server answers "GO AHEAD"
// in the clear and starts TLS, and the client starts TLS on the answer.
type starttlsLine struct {
	BaseProtocol
	isClient    bool
	cfg         *tls.Config
	clear       []byte // received before TLS
	data        []byte // received after
	made        int
	lost        int
	reason      error
	stateAtMade tls.ConnectionState
	beforeTLS   func(s *starttlsLine) // just before StartTLS
	onSecure    func(s *starttlsLine) // after StartTLS returned
	onData      func(s *starttlsLine) // after data arrived over TLS
	onLost      func(s *starttlsLine)
}

func (s *starttlsLine) ConnectionMade(t Transport) {
	s.Transport = t
	s.made++
	s.stateAtMade = t.(TLSTransport).ConnectionState()
	if s.isClient {
		_, _ = t.Write([]byte("STARTTLS\r\n"))
	}
}

func (s *starttlsLine) DataReceived(b []byte) {
	if s.Transport.(*Conn).ConnectionState().HandshakeComplete {
		s.data = append(s.data, b...)
		if s.onData != nil {
			s.onData(s)
		}
		return
	}
	s.clear = append(s.clear, b...)
	switch {
	case !s.isClient && string(s.clear) == "STARTTLS\r\n":
		_, _ = s.Transport.Write([]byte("GO AHEAD\r\n"))
		s.startTLS()
	case s.isClient && string(s.clear) == "GO AHEAD\r\n":
		s.startTLS()
	}
}

func (s *starttlsLine) startTLS() {
	if s.beforeTLS != nil {
		s.beforeTLS(s)
	}
	if err := s.Transport.(TLSStarter).StartTLS(s.cfg, s.isClient); err != nil {
		panic(err)
	}
	if s.onSecure != nil {
		s.onSecure(s)
	}
}

func (s *starttlsLine) ConnectionLost(reason error) {
	s.lost++
	s.reason = reason
	if s.onLost != nil {
		s.onLost(s)
	}
}

// starttlsOverLoopback connects client to server over TCP on one loop, both
// speaking starttlsLine, until both connections are lost.
func starttlsOverLoopback(t *testing.T, client, server *starttlsLine) {
	t.Helper()
	client.isClient = true
	if client.cfg == nil {
		client.cfg = clientConfig()
	}
	server.cfg = serverConfig()
	runStreamTest(t, func(loop *reactor.Reactor) {
		var port *Port
		lost := 0
		for _, s := range []*starttlsLine{client, server} {
			onLost := s.onLost
			s.onLost = func(s *starttlsLine) {
				if onLost != nil {
					onLost(s)
				}
				if lost++; lost == 2 {
					port.StopListening()
					_ = loop.Stop()
				}
			}
		}
		port = mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return server }))
		ConnectProtocol(loop, port.Addr().String(), client)
	})
}

func TestStartTLSLineProtocolEcho(t *testing.T) {
	const msg = "hello over TLS"
	client, server := &starttlsLine{}, &starttlsLine{}
	// Written before the handshake is done: the layer holds it until then.
	client.onSecure = func(s *starttlsLine) { _, _ = s.Transport.Write([]byte(msg)) }
	server.onData = func(s *starttlsLine) {
		if len(s.data) == len(msg) {
			_, _ = s.Transport.Write(s.data)
		}
	}
	var state tls.ConnectionState
	client.onData = func(s *starttlsLine) {
		if len(s.data) == len(msg) {
			state = s.Transport.(TLSTransport).ConnectionState()
			s.Transport.LoseConnection()
		}
	}
	starttlsOverLoopback(t, client, server)

	if string(client.clear) != "GO AHEAD\r\n" || string(server.clear) != "STARTTLS\r\n" {
		t.Errorf("in the clear: client got %q, server %q", client.clear, server.clear)
	}
	if string(client.data) != msg || string(server.data) != msg {
		t.Errorf("over TLS: client got %q, server %q; want %q", client.data, server.data, msg)
	}
	for name, s := range map[string]*starttlsLine{"client": client, "server": server} {
		if s.made != 1 || s.lost != 1 {
			t.Errorf("%s: ConnectionMade %d times, ConnectionLost %d times; want once each", name, s.made, s.lost)
		}
		if !errors.Is(s.reason, ErrConnectionDone) {
			t.Errorf("%s: reason %v, want ErrConnectionDone", name, s.reason)
		}
		if s.stateAtMade.HandshakeComplete || s.stateAtMade.Version != 0 {
			t.Errorf("%s: a plain connection has a TLS state: %+v", name, s.stateAtMade)
		}
		if p := s.Transport.(*Conn).Protocol(); p != s {
			t.Errorf("%s: Protocol() = %T after StartTLS, want the protocol", name, p)
		}
	}
	if !state.HandshakeComplete || state.Version != tls.VersionTLS13 || state.ServerName != "example.test" {
		t.Errorf("client's state: complete %v, version %x, server name %q", state.HandshakeComplete, state.Version, state.ServerName)
	}
	if len(state.PeerCertificates) != 1 || state.PeerCertificates[0].Subject.CommonName != "example.test" {
		t.Errorf("client's peer certificates: %v", state.PeerCertificates)
	}
}

// Several MiB each way after StartTLS, written by push producers registered
// on the Conn, arrive whole and in order.
func TestStartTLSLargePayloadsBothWays(t *testing.T) {
	const total = 4 << 20
	client, server := &starttlsLine{}, &starttlsLine{}
	finished := 0
	for _, s := range []*starttlsLine{client, server} {
		s.onSecure = func(s *starttlsLine) {
			tr := s.Transport
			p := &pusher{t: tr, total: total, loop: tr.(Looper).Loop()}
			p.onDone = func() { tr.UnregisterProducer() }
			if err := tr.RegisterProducer(p, true); err != nil {
				t.Error(err)
			}
			p.schedule()
		}
		s.onData = func(s *starttlsLine) {
			if len(s.data) == total {
				if finished++; finished == 2 {
					client.Transport.LoseConnection()
				}
			}
		}
	}
	starttlsOverLoopback(t, client, server)
	for name, s := range map[string]*starttlsLine{"client": client, "server": server} {
		if len(s.data) != total {
			t.Fatalf("%s received %d bytes, want %d", name, len(s.data), total)
		}
		for i, b := range s.data {
			if b != byte(i%251) {
				t.Fatalf("%s: byte %d is %d, want %d", name, i, b, i%251)
			}
		}
		if !errors.Is(s.reason, ErrConnectionDone) {
			t.Errorf("%s: reason %v, want ErrConnectionDone", name, s.reason)
		}
	}
}

func TestStartTLSHandshakeFailureIsConnectionLost(t *testing.T) {
	client := &starttlsLine{cfg: &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "example.test"}}
	server := &starttlsLine{}
	starttlsOverLoopback(t, client, server)
	if client.made != 1 || server.made != 1 || client.lost != 1 || server.lost != 1 {
		t.Errorf("made %d/%d, lost %d/%d times; want once each", client.made, server.made, client.lost, server.lost)
	}
	var verr *tls.CertificateVerificationError
	if !errors.As(client.reason, &verr) || !errors.Is(client.reason, ErrConnectionLost) {
		t.Errorf("client's reason %v, want ErrConnectionLost with a certificate verification error", client.reason)
	}
	var alert *net.OpError
	if !errors.As(server.reason, &alert) || alert.Op != "remote error" || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("server's reason %v, want the client's TLS alert", server.reason)
	}
	if len(client.data) != 0 || len(server.data) != 0 {
		t.Errorf("data delivered over a failed handshake: %q, %q", client.data, server.data)
	}
}

// Output queued before StartTLS goes out in the clear ahead of the
// handshake, and a streaming producer the queue paused is moved to the TLS
// layer and resumed: its data goes out encrypted. The peer is crypto/tls
// over a net.Conn, which reads exactly the cleartext before its handshake.
func TestStartTLSSendsQueuedOutputInTheClearFirst(t *testing.T) {
	// More than the kernel's loopback buffers take while the peer does not
	// read, so that some of it is queued.
	const clear, secret = 12 << 20, 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	startedTLS := make(chan struct{})
	peerErr := make(chan error, 1)
	go func() { peerErr <- clearThenTLSPeer(ln, startedTLS, clear, secret) }()

	client := &recorder{}
	var queuedAtStart int
	var pausedAtStart bool
	var p *pusher
	var startErr, registered error
	client.onMade = func(r *recorder) {
		c := r.Transport.(*Conn)
		p = &pusher{t: c, total: secret, loop: c.Loop()}
		p.onDone = func() { c.UnregisterProducer() }
		registered = c.RegisterProducer(p, true)
		_, _ = c.Write(pattern(clear))
		queuedAtStart, pausedAtStart = c.queued(), p.paused
		startErr = c.StartTLS(clientConfig(), true)
		close(startedTLS)
	}
	client.onData = func(r *recorder, b []byte) {
		if string(r.data) == "done" {
			r.Transport.LoseConnection()
		}
	}
	runStreamTest(t, func(loop *reactor.Reactor) {
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, ln.Addr().String(), client)
	})
	if err := <-peerErr; err != nil {
		t.Fatal(err)
	}
	if registered != nil || startErr != nil {
		t.Fatalf("RegisterProducer: %v; StartTLS: %v", registered, startErr)
	}
	if queuedAtStart == 0 || !pausedAtStart {
		t.Errorf("at StartTLS %d bytes were queued and the producer paused %v; want a queue and a paused producer", queuedAtStart, pausedAtStart)
	}
	if p.sent != secret || string(client.data) != "done" || !errors.Is(client.reason, ErrConnectionDone) {
		t.Errorf("the producer sent %d of %d bytes; the client got %q and %v", p.sent, secret, client.data, client.reason)
	}
}

// clearThenTLSPeer accepts one connection, reads n cleartext bytes of the
// pattern once the client started TLS, then does a TLS handshake as the
// server, reads m bytes of the pattern, answers "done" and closes with a
// close_notify.
func clearThenTLSPeer(ln net.Listener, startedTLS <-chan struct{}, n, m int) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	<-startedTLS
	got := make([]byte, n)
	if _, err := io.ReadFull(conn, got); err != nil {
		return err
	}
	if !bytes.Equal(got, pattern(n)) {
		return errors.New("the cleartext is not the pattern")
	}
	tc := tls.Server(conn, serverConfig())
	got = make([]byte, m)
	if _, err := io.ReadFull(tc, got); err != nil {
		return err
	}
	if !bytes.Equal(got, pattern(m)) {
		return errors.New("the data over TLS is not the pattern")
	}
	if _, err := tc.Write([]byte("done")); err != nil {
		return err
	}
	return tc.Close()
}

func TestStartTLSErrors(t *testing.T) {
	tests := []struct {
		name   string
		before func(c *Conn)
		want   error
	}{
		{"twice", func(c *Conn) { _ = c.StartTLS(clientConfig(), true) }, ErrTLSStarted},
		{"after LoseConnection", func(c *Conn) { c.LoseConnection() }, ErrConnectionClosed},
		{"after LoseWriteConnection", func(c *Conn) { c.LoseWriteConnection() }, ErrConnectionClosed},
		{"after AbortConnection", func(c *Conn) { c.AbortConnection() }, ErrConnectionClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop, err := reactor.New()
			if err != nil {
				t.Fatal(err)
			}
			defer loop.Close()
			c, _ := socketPair(t, loop, &recorder{})
			tt.before(c)
			if err := c.StartTLS(clientConfig(), true); !errors.Is(err, tt.want) {
				t.Errorf("StartTLS = %v, want %v", err, tt.want)
			}
		})
	}
}

// A producer registered before StartTLS, or after it, is the TLS layer's,
// and the socket's producer is the layer (Twisted's
// test_startTLSAfterRegisterProducer and test_producerAfterStartTLS).
func TestStartTLSProducerIsTheLayers(t *testing.T) {
	tests := []struct {
		name      string
		streaming bool
		before    bool // registered before StartTLS
	}{
		{"streaming before", true, true},
		{"pull before", false, true},
		{"streaming after", true, false},
		{"pull after", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop, err := reactor.New()
			if err != nil {
				t.Fatal(err)
			}
			defer loop.Close()
			c, _ := socketPair(t, loop, &recorder{})
			// The loop never runs: end the handshake's goroutine.
			defer c.AbortConnection()
			p := &stopper{}
			register := func() {
				if err := c.RegisterProducer(p, tt.streaming); err != nil {
					t.Fatal(err)
				}
			}
			if tt.before {
				register()
			}
			if err := c.StartTLS(clientConfig(), true); err != nil {
				t.Fatal(err)
			}
			if !tt.before {
				register()
			}
			l := c.x.tls
			if l.producer != p || l.streaming != tt.streaming {
				t.Errorf("the layer's producer is %v (streaming %v), want the registered one", l.producer, l.streaming)
			}
			// The socket gets it once the handshake is done.
			if c.x.producer != nil {
				t.Errorf("the socket's producer is %T during the handshake, want none", c.x.producer)
			}
			c.UnregisterProducer()
			if l.producer != nil {
				t.Errorf("UnregisterProducer left the layer's producer %v", l.producer)
			}
		})
	}
}

// A protocol that paused its transport before StartTLS gets no data until it
// resumes, while the socket is read for the handshake.
func TestStartTLSKeepsTheProtocolsPause(t *testing.T) {
	const msg = "held back"
	client, server := &starttlsLine{}, &starttlsLine{}
	var pausedDeliveries int
	paused := false
	server.beforeTLS = func(s *starttlsLine) {
		paused = true
		s.Transport.PauseProducing()
	}
	// The client gets "ping" once both handshakes are done: the server read
	// the client's flights while paused.
	server.onSecure = func(s *starttlsLine) { _, _ = s.Transport.Write([]byte("ping")) }
	client.onData = func(s *starttlsLine) {
		if string(s.data) != "ping" {
			return
		}
		_, _ = s.Transport.Write([]byte(msg))
		// Give msg turns of the loop to reach the paused server.
		loop := s.Transport.(Looper).Loop()
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
	}
	server.onData = func(s *starttlsLine) {
		if paused {
			pausedDeliveries++
		}
		if string(s.data) == msg {
			s.Transport.LoseConnection()
		}
	}
	starttlsOverLoopback(t, client, server)
	if string(server.data) != msg || string(client.data) != "ping" || pausedDeliveries != 0 {
		t.Errorf("server got %q, client %q; %d deliveries while paused", server.data, client.data, pausedDeliveries)
	}
}

// onlyStop is a Producer that is neither a push nor a pull producer.
type onlyStop struct{ stopped bool }

func (o *onlyStop) StopProducing() { o.stopped = true }

// The TLS layer checks the kind of a producer the Conn took without
// checking: StartTLS starts TLS, stops the producer and says why.
func TestStartTLSRefusesAProducerOfTheWrongKind(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	c, _ := socketPair(t, loop, &recorder{})
	// The loop never runs: end the handshake's goroutine.
	defer c.AbortConnection()
	p := &onlyStop{}
	if err := c.RegisterProducer(p, true); err != nil {
		t.Fatal(err)
	}
	err = c.StartTLS(clientConfig(), true)
	if err == nil || !p.stopped || c.state&stTLS == 0 || c.x.tls.producer != nil {
		t.Errorf("StartTLS = %v, producer stopped %v, TLS started %v, layer's producer %v",
			err, p.stopped, c.state&stTLS != 0, c.x.tls.producer)
	}
}
