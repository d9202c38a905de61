//go:build unix

package internet

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// starter is a Factory that counts StartFactory and StopFactory.
type starter struct {
	clientFactory
	starts, stops int
}

func (s *starter) StartFactory() { s.starts++ }
func (s *starter) StopFactory()  { s.stops++ }

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T, loop *reactor.Reactor) string {
	p := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return nil }))
	addr := p.Addr().String()
	p.StopListening()
	return addr
}

func TestConnectRefusedFailsTheConnector(t *testing.T) {
	f := &starter{}
	var reason error
	var c *StreamConnector
	failures := 0
	runStreamTest(t, func(loop *reactor.Reactor) {
		f.build = func(net.Addr) Protocol { t.Error("built a protocol"); return nil }
		f.failed = func(conn Connector, r error) {
			failures++
			if conn != c || conn.State() != Disconnected || f.stops != 0 {
				t.Errorf("failed with connector %p (want %p) in state %v, factory stopped %d times", conn, c, conn.State(), f.stops)
			}
			reason = r
			loop.CallLater(0, func() { _ = loop.Stop() })
		}
		c = ConnectTCP(loop, closedPort(t, loop), f)
		if c.State() != Connecting {
			t.Errorf("state %v after ConnectTCP", c.State())
		}
		if failures != 0 {
			t.Error("ClientConnectionFailed was called from inside ConnectTCP")
		}
	})
	if failures != 1 || !errors.Is(reason, ErrConnectionRefused) || !errors.Is(reason, ErrConnectFailed) || !errors.Is(reason, syscall.ECONNREFUSED) {
		t.Errorf("failed %d times with %v, want a refusal", failures, reason)
	}
	if f.starts != 1 || f.stops != 1 {
		t.Errorf("the factory was started %d times and stopped %d times", f.starts, f.stops)
	}
}

func TestConnectTimeout(t *testing.T) {
	// A listener that never accepts, with the shortest backlog: once its
	// queue is full, the system drops the SYNs of further connections,
	// which stay pending until the connectors' time-out.
	const connectors = 8
	var timedOut, connected, other int
	runStreamTest(t, func(loop *reactor.Reactor) {
		fd, addr, err := sysListen(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		done := func() {
			if timedOut+connected+other == connectors {
				sysClose(fd, true)
				_ = loop.Stop()
			}
		}
		f := &clientFactory{
			build: func(net.Addr) Protocol { connected++; done(); return &BaseProtocol{} },
			failed: func(_ Connector, r error) {
				if errors.Is(r, ErrTimeout) && errors.Is(r, ErrConnectFailed) {
					timedOut++
				} else {
					t.Log("unexpected failure:", r)
					other++
				}
				done()
			},
		}
		for range connectors {
			ConnectTCP(loop, addr.String(), f, WithTimeout(200*time.Millisecond))
		}
	})
	if timedOut == 0 || other != 0 {
		t.Errorf("%d timed out, %d connected, %d failed otherwise", timedOut, connected, other)
	}
}

func TestConnectorStopConnecting(t *testing.T) {
	f := &starter{}
	var reasons []error
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return &BaseProtocol{} }))
		f.build = func(net.Addr) Protocol { t.Error("built a protocol"); return nil }
		f.failed = func(_ Connector, r error) { reasons = append(reasons, r) }
		c := ConnectTCP(loop, port.Addr().String(), f)
		if err := c.StopConnecting(); err != nil {
			t.Error(err)
		}
		if c.State() != Disconnected || len(reasons) != 1 {
			t.Errorf("state %v with %d failures after StopConnecting", c.State(), len(reasons))
		}
		if err := c.StopConnecting(); err != ErrNotConnecting {
			t.Errorf("a second StopConnecting returned %v", err)
		}
		// Nothing more happens: let a few turns pass.
		loop.CallLater(0, func() { loop.CallLater(0, func() { _ = loop.Stop() }) })
	})
	if len(reasons) != 1 || !errors.Is(reasons[0], ErrConnectingStopped) {
		t.Errorf("failures: %v", reasons)
	}
	if f.starts != 1 || f.stops != 1 {
		t.Errorf("the factory was started %d times and stopped %d times", f.starts, f.stops)
	}
}

func TestConnectorConnectAgainAfterTheConnectionIsLost(t *testing.T) {
	f := &starter{}
	built, lost := 0, 0
	var c *StreamConnector
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			return &recorder{onMade: func(r *recorder) { r.Transport.LoseConnection() }}
		}))
		f.build = func(net.Addr) Protocol {
			built++
			if c.State() != Connected {
				t.Errorf("state %v in BuildProtocol", c.State())
			}
			return &BaseProtocol{}
		}
		f.lost = func(conn Connector, r error) {
			lost++
			if r != ErrConnectionDone || conn.Transport() != nil {
				t.Errorf("lost with %v, transport %v", r, conn.Transport())
			}
			if lost < 3 {
				if err := conn.Connect(); err != nil {
					t.Error(err)
				}
				if err := conn.Connect(); err != ErrConnectorBusy {
					t.Errorf("Connect while connecting returned %v", err)
				}
				return
			}
			_ = loop.Stop()
		}
		c = ConnectTCP(loop, port.Addr().String(), f)
		if c.DestinationAddr().String() != port.Addr().String() {
			t.Errorf("DestinationAddr is %v", c.DestinationAddr())
		}
	})
	if built != 3 || lost != 3 || f.starts != 1 || f.stops != 1 {
		t.Errorf("built %d, lost %d; factory started %d, stopped %d times", built, lost, f.starts, f.stops)
	}
}

func TestConnectHostName(t *testing.T) {
	var got []byte
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return &echo{} }))
		_, portNum, _ := net.SplitHostPort(port.Addr().String())
		client := &recorder{
			onMade: func(r *recorder) { _, _ = r.Transport.Write([]byte("hi")) },
			onData: func(r *recorder, _ []byte) { got = r.data; _ = loop.Stop() },
		}
		d := ConnectProtocol(loop, "localhost:"+portNum, client)
		d.AddErrback(func(f *deferred.Failure) (any, error) { t.Error(f); _ = loop.Stop(); return nil, nil })
	})
	if string(got) != "hi" {
		t.Errorf("echoed %q", got)
	}
}

func TestConnectProtocolFiresAfterConnectionMade(t *testing.T) {
	var result any
	p := &recorder{}
	var refused error
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return &BaseProtocol{} }))
		ConnectProtocol(loop, port.Addr().String(), p).AddCallback(func(v any) (any, error) {
			if p.made != 1 {
				t.Error("fired before ConnectionMade")
			}
			result = v
			ConnectProtocol(loop, closedPort(t, loop), &recorder{}).AddErrback(func(f *deferred.Failure) (any, error) {
				refused = f
				_ = loop.Stop()
				return nil, nil
			})
			return nil, nil
		})
	})
	if result != p || !errors.Is(refused, ErrConnectionRefused) {
		t.Errorf("fired with %v; the refused one with %v", result, refused)
	}
}

func TestConnectWithBindAddr(t *testing.T) {
	var local net.Addr
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(addr net.Addr) Protocol {
			local = addr
			_ = loop.Stop()
			return &BaseProtocol{}
		}))
		ConnectTCP(loop, port.Addr().String(), &clientFactory{build: func(net.Addr) Protocol { return &BaseProtocol{} }},
			WithBindAddr("127.0.0.2:0"))
	})
	if a, ok := local.(*net.TCPAddr); !ok || !a.IP.Equal(net.IPv4(127, 0, 0, 2)) {
		t.Errorf("the server saw the client at %v, want 127.0.0.2", local)
	}
}
