package service

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/internet/endpoints"
	"github.com/twistgo/twist/reactor"
)

// runLoop runs a reactor for the test and stops it at cleanup.
func runLoop(t *testing.T) *reactor.Reactor {
	t.Helper()
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	t.Cleanup(func() {
		loop.CallFromThread(func() { loop.Stop() })
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return loop
}

// onLoop runs f on loop and returns its result.
func onLoop[T any](loop *reactor.Reactor, f func() T) T {
	ch := make(chan T, 1)
	loop.CallFromThread(func() { ch <- f() })
	return <-ch
}

type echo struct{ internet.BaseProtocol }

func (e *echo) DataReceived(b []byte) { e.Transport.Write(b) }

var echoFactory = internet.FactoryFunc(func(net.Addr) internet.Protocol { return &echo{} })

// roundTrip sends msg to a stream server and reads it back.
func roundTrip(t *testing.T, network, addr, msg string) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

func TestTCPServerServesWhileRunning(t *testing.T) {
	loop := runLoop(t)
	s := TCPServer(loop, "127.0.0.1:0", echoFactory)
	if err := onLoop(loop, s.StartService); err != nil {
		t.Fatal(err)
	}
	addr := onLoop(loop, s.Addr).String()
	roundTrip(t, "tcp", addr, "lalala\r\n")
	onLoop(loop, s.StopService)
	if onLoop(loop, s.Addr) != nil || s.Running() {
		t.Fatal("still listening after StopService")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("connected to a stopped TCPServer")
	}
	// The port is free again: the service restarts on it.
	s2 := TCPServer(loop, addr, echoFactory)
	if err := onLoop(loop, s2.StartService); err != nil {
		t.Fatalf("restarting on %s: %v", addr, err)
	}
	roundTrip(t, "tcp", addr, "again")
	onLoop(loop, s2.StopService)
}

func TestTCPServerStartErrorLeavesItStopped(t *testing.T) {
	loop := runLoop(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := TCPServer(loop, l.Addr().String(), echoFactory)
	if err := onLoop(loop, s.StartService); err == nil {
		t.Fatal("listening on a busy port succeeded")
	}
	if s.Running() || onLoop(loop, s.StopService) != nil {
		t.Fatal("a server that failed to start is running or has something to stop")
	}
}

func TestUnixServer(t *testing.T) {
	loop := runLoop(t)
	path := filepath.Join(t.TempDir(), "echo.skt")
	s := UnixServer(loop, path, echoFactory)
	if err := onLoop(loop, s.StartService); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, "unix", path, "lalala")
	onLoop(loop, s.StopService)
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("connected to a stopped UnixServer")
	}
}

type udpRecorder struct{ got chan string }

func (u *udpRecorder) DatagramReceived(b []byte, addr net.Addr) { u.got <- string(b) }

func TestUDPServerFreesItsPort(t *testing.T) {
	loop := runLoop(t)
	p := &udpRecorder{got: make(chan string, 1)}
	s := UDPServer(loop, "127.0.0.1:0", p)
	if err := onLoop(loop, s.StartService); err != nil {
		t.Fatal(err)
	}
	addr := onLoop(loop, s.Addr).String()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	if got := <-p.got; got != "ping" {
		t.Fatalf("got %q", got)
	}
	onLoop(loop, s.StopService)
	s2 := UDPServer(loop, addr, p)
	if err := onLoop(loop, s2.StartService); err != nil {
		t.Fatalf("reopening %s: %v", addr, err)
	}
	onLoop(loop, s2.StopService)
}

// lineClient sends a line on connecting and reports the line it gets back.
type lineClient struct {
	internet.BaseClientFactory
	lines  chan string
	failed chan error
}

func (f *lineClient) BuildProtocol(net.Addr) internet.Protocol { return &lineProto{f: f} }

func (f *lineClient) ClientConnectionFailed(c internet.Connector, reason error) {
	f.failed <- reason
}

type lineProto struct {
	internet.BaseProtocol
	f   *lineClient
	buf []byte
}

func (p *lineProto) ConnectionMade(t internet.Transport) {
	p.BaseProtocol.ConnectionMade(t)
	t.Write([]byte("lalala\r\n"))
}

func (p *lineProto) DataReceived(b []byte) {
	p.buf = append(p.buf, b...)
	if i := bytes.IndexByte(p.buf, '\n'); i >= 0 {
		p.f.lines <- string(p.buf[:i+1])
		p.Transport.LoseConnection()
	}
}

func TestTCPClientAndServerInAMultiService(t *testing.T) {
	loop := runLoop(t)
	m := NewMultiService()
	server := TCPServer(loop, "127.0.0.1:0", echoFactory)
	f := &lineClient{lines: make(chan string, 1), failed: make(chan error, 1)}
	err := onLoop(loop, func() error {
		m.StartService()
		if err := SetServiceParent(server, m); err != nil {
			return err
		}
		return SetServiceParent(TCPClient(loop, server.Addr().String(), f), m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if line := <-f.lines; line != "lalala\r\n" {
		t.Fatalf("line = %q", line)
	}
	onLoop(loop, m.StopService)
}

func TestTCPClientConnectionRefused(t *testing.T) {
	loop := runLoop(t)
	server := TCPServer(loop, "127.0.0.1:0", echoFactory)
	onLoop(loop, server.StartService)
	addr := onLoop(loop, server.Addr).String()
	onLoop(loop, server.StopService)

	f := &lineClient{lines: make(chan string, 1), failed: make(chan error, 1)}
	c := TCPClient(loop, addr, f)
	onLoop(loop, c.StartService)
	if err := <-f.failed; !errors.Is(err, internet.ErrConnectFailed) {
		t.Fatalf("failure = %v", err)
	}
	onLoop(loop, c.StopService)
	if c.Connector() != nil {
		t.Fatal("connector kept after StopService")
	}
}

// counting counts the connections it accepts and closes each at once.
type counting struct {
	internet.BaseProtocol
	n chan struct{}
}

func (c *counting) ConnectionMade(t internet.Transport) {
	c.n <- struct{}{}
	t.LoseConnection()
}

func TestTCPClientReconnectsUntilStopped(t *testing.T) {
	loop := runLoop(t)
	accepted := make(chan struct{}, 16)
	server := TCPServer(loop, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &counting{n: accepted}
	}))
	onLoop(loop, server.StartService)
	rf := internet.NewReconnectingClientFactory(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &internet.BaseProtocol{}
	}))
	rf.InitialDelay, rf.Jitter, rf.Factor = time.Millisecond, 0, 1
	c := TCPClient(loop, onLoop(loop, server.Addr).String(), rf)
	onLoop(loop, c.StartService)
	for range 3 {
		<-accepted
	}
	onLoop(loop, c.StopService)
	onLoop(loop, server.StopService)
}

func TestEndpointServer(t *testing.T) {
	loop := runLoop(t)
	dir := t.TempDir()
	for _, desc := range []string{"tcp:0:interface=127.0.0.1", "unix:" + filepath.Join(dir, "s.sock")} {
		e, err := endpoints.ServerFromString(loop, desc)
		if err != nil {
			t.Fatal(err)
		}
		s := EndpointServer(e, echoFactory)
		if err := onLoop(loop, s.StartService); err != nil {
			t.Fatal(err)
		}
		network := "tcp"
		if _, ok := s.Addr().(*net.UnixAddr); ok {
			network = "unix"
		}
		roundTrip(t, network, s.Addr().String(), "hello, "+desc)
		onLoop(loop, s.StopService)
		if s.Addr() != nil {
			t.Errorf("%s: Addr after stopping: %v", desc, s.Addr())
		}
	}
	e, _ := endpoints.ServerFromString(loop, "tcp:1:interface=192.0.2.1")
	if err := onLoop(loop, EndpointServer(e, echoFactory).StartService); err == nil {
		t.Error("listening on an address the host does not have succeeded")
	}
}
