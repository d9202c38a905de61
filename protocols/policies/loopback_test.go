package policies_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/protocols/policies"
	"github.com/twistgo/twist/reactor"
)

type frames struct{ basic.Int32StringReceiver }

func (f *frames) StringReceived(s []byte) { f.SendString(s) }
func (*frames) Pending() int              { return 0 }

// serve listens with f on a loopback port, on a loop that runs until the
// test ends, and returns the port's address.
func serve(t *testing.T, f internet.Factory) string {
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
			t.Error(err)
		}
	})
	ports := make(chan *internet.Port, 1)
	loop.CallFromThread(func() {
		p, err := internet.ListenTCP(loop, "127.0.0.1:0", f)
		if err != nil {
			t.Error(err)
		}
		ports <- p
	})
	port := <-ports
	if port == nil {
		t.FailNow()
	}
	t.Cleanup(func() { loop.CallFromThread(func() { port.StopListening() }) })
	return port.Addr().String()
}

// Over loopback: a half-sent frame is cut by the read time-out, and a
// connection past the limit is closed at once.
func TestLoopbackTimeoutAndLimit(t *testing.T) {
	const readTimeout = 100 * time.Millisecond
	addr := serve(t, policies.LimitTotalConnections(policies.Timeout(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		p := &frames{}
		p.Handler = p
		return p
	}), policies.TimeoutConfig{Idle: time.Hour, Read: readTimeout}), 1))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte{0, 0, 0, 2, 'o', 'k'})
	echo := make([]byte, 6)
	if _, err := io.ReadFull(c, echo); err != nil {
		t.Fatalf("echo: %v", err)
	}

	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	over.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := over.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("a connection over the limit read %d bytes, %v; want EOF", n, err)
	}

	start := time.Now()
	c.Write([]byte{0, 0})
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after half a prefix: read %d bytes, %v; want EOF", n, err)
	}
	if d := time.Since(start); d < readTimeout {
		t.Errorf("closed after %v, before the read time-out of %v", d, readTimeout)
	}
}
