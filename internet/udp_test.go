//go:build unix

package internet

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/twistgo/twist/reactor"
)

// datagram is one received datagram.
type datagram struct {
	data string
	addr net.Addr
}

// udpRecorder records what its port tells it, and calls onDatagram after
// recording each datagram.
type udpRecorder struct {
	BaseDatagramProtocol
	started, stopped, refused int
	got                       []datagram
	onDatagram                func(data []byte, addr net.Addr)
	onRefused                 func()
}

func (r *udpRecorder) StartProtocol(t DatagramTransport) {
	r.BaseDatagramProtocol.StartProtocol(t)
	r.started++
}

func (r *udpRecorder) StopProtocol() { r.stopped++ }

func (r *udpRecorder) DatagramReceived(data []byte, addr net.Addr) {
	r.got = append(r.got, datagram{string(data), addr})
	if r.onDatagram != nil {
		r.onDatagram(data, addr)
	}
}

func (r *udpRecorder) ConnectionRefused() {
	r.refused++
	if r.onRefused != nil {
		r.onRefused()
	}
}

func mustListenUDP(t *testing.T, loop *reactor.Reactor, addr string, p DatagramProtocol, opts ...UDPOption) *UDPPort {
	t.Helper()
	port, err := ListenUDP(loop, addr, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestUDPSendAndReceive(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{{"IPv4", "127.0.0.1:0"}, {"IPv6", "[::1]:0"}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "IPv6" {
				if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skip("no IPv6 loopback:", err)
				} else {
					c.Close()
				}
			}
			server, client := &udpRecorder{}, &udpRecorder{}
			var sport, cport *UDPPort
			runLoopForTest(t, func(loop *reactor.Reactor) {
				sport = mustListenUDP(t, loop, tc.addr, server)
				cport = mustListenUDP(t, loop, tc.addr, client)
				// As in Twisted's test_sendPackets: the server writes to the
				// client's address, the connected client writes with no
				// address, with nil, and with the server's address.
				if err := cport.Connect(sport.LocalAddr().String()); err != nil {
					t.Fatal(err)
				}
				if err := sport.WriteTo([]byte("hello"), cport.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				writes := []func() error{
					func() error { return cport.Write([]byte("a")) },
					func() error { return cport.WriteTo([]byte("b"), nil) },
					func() error { return cport.WriteTo([]byte("c"), sport.LocalAddr()) },
				}
				next := func() {
					if err := writes[0](); err != nil {
						t.Fatal(err)
					}
					writes = writes[1:]
				}
				next()
				server.onDatagram = func([]byte, net.Addr) {
					if len(writes) > 0 {
						next()
					} else if len(client.got) == 1 {
						loop.Stop()
					}
				}
				client.onDatagram = func([]byte, net.Addr) {
					if len(server.got) == 3 {
						loop.Stop()
					}
				}
			})
			want := []datagram{{"hello", sport.LocalAddr()}}
			if !slices.EqualFunc(client.got, want, sameDatagram) {
				t.Errorf("client got %v, want %v", client.got, want)
			}
			want = []datagram{{"a", cport.LocalAddr()}, {"b", cport.LocalAddr()}, {"c", cport.LocalAddr()}}
			if !slices.EqualFunc(server.got, want, sameDatagram) {
				t.Errorf("server got %v, want %v", server.got, want)
			}
			if got := cport.RemoteAddr(); got.String() != sport.LocalAddr().String() {
				t.Errorf("client's RemoteAddr %v, want %v", got, sport.LocalAddr())
			}
			if sport.RemoteAddr() != nil {
				t.Errorf("unconnected port's RemoteAddr %v, want nil", sport.RemoteAddr())
			}
		})
	}
}

func sameDatagram(a, b datagram) bool {
	return a.data == b.data && a.addr.Network() == b.addr.Network() && a.addr.String() == b.addr.String()
}

func TestUDPLocalAddr(t *testing.T) {
	for _, tc := range []struct{ listen, wantIP string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{":0", "0.0.0.0"}, // an empty host is IPv4's any address, as in Twisted
	} {
		runLoopForTest(t, func(loop *reactor.Reactor) {
			defer loop.Stop()
			port := mustListenUDP(t, loop, tc.listen, &udpRecorder{})
			defer port.StopListening()
			a, ok := port.LocalAddr().(*net.UDPAddr)
			if !ok || a.Network() != "udp" || a.IP.String() != tc.wantIP || a.Port == 0 {
				t.Errorf("ListenUDP(%q).LocalAddr() = %#v, want udp %s with a port", tc.listen, port.LocalAddr(), tc.wantIP)
			}
		})
	}
}

func TestUDPStartStopAndRebind(t *testing.T) {
	p := &udpRecorder{}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		defer loop.Stop()
		port := mustListenUDP(t, loop, "127.0.0.1:0", p)
		if p.started != 1 || p.stopped != 0 || p.Transport != port {
			t.Fatalf("after listening: started %d, stopped %d, transport %v", p.started, p.stopped, p.Transport)
		}
		if _, err := port.StopListening().Result(); err != nil {
			t.Fatal(err)
		}
		if p.stopped != 1 {
			t.Fatalf("after StopListening: stopped %d, want 1", p.stopped)
		}
		port.StopListening()
		if p.stopped != 1 {
			t.Fatalf("a second StopListening stopped the protocol again")
		}
		if err := port.WriteTo([]byte("x"), port.LocalAddr()); !errors.Is(err, ErrConnectionClosed) {
			t.Errorf("WriteTo on a stopped port: %v, want ErrConnectionClosed", err)
		}
		// Listening again with the same protocol starts it again.
		again := mustListenUDP(t, loop, "127.0.0.1:0", p)
		again.StopListening()
		if p.started != 2 || p.stopped != 2 {
			t.Errorf("after rebinding: started %d, stopped %d, want 2, 2", p.started, p.stopped)
		}
	})
}

func TestUDPBindError(t *testing.T) {
	runLoopForTest(t, func(loop *reactor.Reactor) {
		defer loop.Stop()
		port := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		defer port.StopListening()
		second := &udpRecorder{}
		_, err := ListenUDP(loop, port.LocalAddr().String(), second)
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "listen" || !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listening on a bound port: %v, want a listen *net.OpError with EADDRINUSE", err)
		}
		if second.started != 0 {
			t.Errorf("the protocol of a port that failed to listen was started")
		}
	})
}

func TestUDPBadAddresses(t *testing.T) {
	runLoopForTest(t, func(loop *reactor.Reactor) {
		defer loop.Stop()
		for _, addr := range []string{"localhost:0", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"} {
			if _, err := ListenUDP(loop, addr, &udpRecorder{}); !errors.Is(err, ErrUDPAddress) {
				t.Errorf("ListenUDP(%q): %v, want ErrUDPAddress", addr, err)
			}
		}
		port := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		defer port.StopListening()
		if err := port.Write([]byte("x")); !errors.Is(err, ErrUDPNotConnected) {
			t.Errorf("Write on an unconnected port: %v, want ErrUDPNotConnected", err)
		}
		if err := port.WriteTo([]byte("x"), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); !errors.Is(err, ErrUDPAddress) {
			t.Errorf("WriteTo a TCP address: %v, want ErrUDPAddress", err)
		}
		// Twisted's test_badConnect.
		if err := port.Connect("localhost:80"); !errors.Is(err, ErrUDPAddress) {
			t.Errorf("Connect to a host name: %v, want ErrUDPAddress", err)
		}
		if err := port.Connect(":80"); !errors.Is(err, ErrUDPAddress) {
			t.Errorf("Connect with no host: %v, want ErrUDPAddress", err)
		}
		if err := port.Connect("127.0.0.1:80"); err != nil {
			t.Fatal(err)
		}
		if err := port.Connect("127.0.0.1:80"); !errors.Is(err, ErrUDPConnected) {
			t.Errorf("reconnecting: %v, want ErrUDPConnected", err)
		}
		other := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 81}
		if err := port.WriteTo([]byte("x"), other); !errors.Is(err, ErrUDPConnected) {
			t.Errorf("WriteTo another address on a connected port: %v, want ErrUDPConnected", err)
		}
	})
}

func TestUDPConnectionRefused(t *testing.T) {
	client := &udpRecorder{}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		// A port that was bound and closed: nobody listens there.
		gone := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		gone.StopListening()
		port := mustListenUDP(t, loop, "127.0.0.1:0", client)
		if err := port.Connect(gone.LocalAddr().String()); err != nil {
			t.Fatal(err)
		}
		client.onRefused = func() {
			port.StopListening()
			loop.Stop()
		}
		if err := port.Write([]byte("anyone?")); err != nil {
			t.Fatal(err)
		}
	})
	if client.refused != 1 || len(client.got) != 0 {
		t.Errorf("refused %d times, got %v; want one refusal and no datagram", client.refused, client.got)
	}
}

func TestUDPReadsSeveralDatagramsPerTurnUpToABound(t *testing.T) {
	const sent = maxDatagramsPerRead + 6
	server := &udpRecorder{}
	var inFirstTurn int
	runLoopForTest(t, func(loop *reactor.Reactor) {
		sport := mustListenUDP(t, loop, "127.0.0.1:0", server)
		cport := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		// Loopback delivers at once: all wait in the socket before it is read.
		for i := range sent {
			if err := cport.WriteTo(fmt.Appendf(nil, "%d", i), sport.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		server.onDatagram = func([]byte, net.Addr) {
			switch len(server.got) {
			case 1:
				// Posted calls run between turns of reading.
				loop.CallFromThread(func() { inFirstTurn = len(server.got) })
			case sent:
				loop.Stop()
			}
		}
	})
	if inFirstTurn != maxDatagramsPerRead {
		t.Errorf("read %d datagrams in one turn, want %d", inFirstTurn, maxDatagramsPerRead)
	}
	for i, d := range server.got {
		if d.data != fmt.Sprint(i) {
			t.Fatalf("datagram %d is %q: out of order", i, d.data)
		}
	}
}

func TestUDPMaxDatagramSize(t *testing.T) {
	t.Run("longer datagrams are dropped and counted", func(t *testing.T) {
		server := &udpRecorder{}
		var sport *UDPPort
		runLoopForTest(t, func(loop *reactor.Reactor) {
			sport = mustListenUDP(t, loop, "127.0.0.1:0", server, WithMaxDatagramSize(100))
			cport := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
			for _, n := range []int{101, 100, 5000, 1} {
				if err := cport.WriteTo(bytes.Repeat([]byte("x"), n), sport.LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			server.onDatagram = func(data []byte, _ net.Addr) {
				if len(data) == 1 {
					loop.Stop()
				}
			}
		})
		if len(server.got) != 2 || len(server.got[0].data) != 100 || sport.Dropped() != 2 {
			t.Errorf("got %d datagrams (first %d bytes), dropped %d; want the 100- and 1-byte ones, 2 dropped",
				len(server.got), len(server.got[0].data), sport.Dropped())
		}
	})
	t.Run("the default takes the largest IPv4 datagram", func(t *testing.T) {
		const largest = 65507
		server := &udpRecorder{}
		runLoopForTest(t, func(loop *reactor.Reactor) {
			sport := mustListenUDP(t, loop, "127.0.0.1:0", server)
			cport := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
			if err := cport.WriteTo(bytes.Repeat([]byte("y"), largest), sport.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if err := cport.WriteTo(make([]byte, largest+1), sport.LocalAddr()); !errors.Is(err, syscall.EMSGSIZE) {
				t.Errorf("sending %d bytes: %v, want EMSGSIZE", largest+1, err)
			}
			server.onDatagram = func([]byte, net.Addr) { loop.Stop() }
		})
		if len(server.got) != 1 || len(server.got[0].data) != largest {
			t.Errorf("got %d datagrams, want one of %d bytes", len(server.got), largest)
		}
	})
	t.Run("limits out of range are refused", func(t *testing.T) {
		runLoopForTest(t, func(loop *reactor.Reactor) {
			defer loop.Stop()
			for _, n := range []int{0, -1, MaxDatagramSize + 1} {
				if _, err := ListenUDP(loop, "127.0.0.1:0", &udpRecorder{}, WithMaxDatagramSize(n)); err == nil {
					t.Errorf("WithMaxDatagramSize(%d) was accepted", n)
				}
			}
		})
	})
}

// Twisted's test_datagramReceivedError: a protocol that panics is logged and
// the port reads on.
func TestUDPDatagramReceivedPanicKeepsThePortOpen(t *testing.T) {
	server := &udpRecorder{}
	logs := runLoopForTest(t, func(loop *reactor.Reactor) {
		sport := mustListenUDP(t, loop, "127.0.0.1:0", server)
		cport := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		for _, s := range []string{"boom", "fine"} {
			if err := cport.WriteTo([]byte(s), sport.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		server.onDatagram = func(data []byte, _ net.Addr) {
			if string(data) == "boom" {
				panic("buggy protocol")
			}
			// Let the re-raised panic be logged first.
			loop.CallLater(0, func() { loop.Stop() })
		}
	})
	if len(server.got) != 2 {
		t.Errorf("got %v; want both datagrams", server.got)
	}
	if !strings.Contains(logs.String(), "buggy protocol") {
		t.Errorf("the panic was not logged; log:\n%s", logs)
	}
}

// Twisted's testShutdownFromDatagramReceived: stopping the port from
// DatagramReceived ends the read loop.
func TestUDPStopListeningFromDatagramReceived(t *testing.T) {
	server := &udpRecorder{}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		sport := mustListenUDP(t, loop, "127.0.0.1:0", server)
		cport := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		for range 3 {
			if err := cport.WriteTo([]byte("x"), sport.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		server.onDatagram = func([]byte, net.Addr) {
			sport.StopListening()
			loop.CallLater(0, func() { loop.Stop() })
		}
	})
	if len(server.got) != 1 || server.stopped != 1 {
		t.Errorf("got %d datagrams, stopped %d; want 1 and 1", len(server.got), server.stopped)
	}
}

func TestUDPReactorShutdownStopsTheProtocol(t *testing.T) {
	p := &udpRecorder{}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		mustListenUDP(t, loop, "127.0.0.1:0", p)
		loop.Stop()
	})
	if p.stopped != 1 {
		t.Errorf("StopProtocol called %d times at shutdown, want 1", p.stopped)
	}
}

func TestUDPSenderAddressIsReused(t *testing.T) {
	server := &udpRecorder{}
	runLoopForTest(t, func(loop *reactor.Reactor) {
		sport := mustListenUDP(t, loop, "127.0.0.1:0", server)
		cport := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		for range 2 {
			if err := cport.WriteTo([]byte("x"), sport.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		server.onDatagram = func([]byte, net.Addr) {
			if len(server.got) == 2 {
				loop.Stop()
			}
		}
	})
	if server.got[0].addr != server.got[1].addr {
		t.Errorf("two datagrams from one sender came with different net.Addr values")
	}
}

// Reading a datagram from a known sender allocates nothing on Linux, where
// the port reads sockaddrs in place.
func TestUDPReceiveDoesNotAllocate(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	n := 0
	sport := mustListenUDP(t, loop, "127.0.0.1:0", datagramFunc(func([]byte, net.Addr) { n++ }))
	cport := mustListenUDP(t, loop, "127.0.0.1:0", datagramFunc(func([]byte, net.Addr) {}))
	if err := cport.Connect(sport.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	msg := []byte("ping")
	allocs := testing.AllocsPerRun(100, func() {
		if err := cport.Write(msg); err != nil {
			t.Fatal(err)
		}
		sport.DoRead()
	})
	if n != 101 {
		t.Fatalf("received %d datagrams, want 101", n)
	}
	if allocs != 0 && runtime.GOOS == "linux" {
		t.Errorf("%v allocations per datagram, want 0", allocs)
	}
}

// datagramFunc adapts a function to a DatagramProtocol.
type datagramFunc func(data []byte, addr net.Addr)

func (f datagramFunc) DatagramReceived(data []byte, addr net.Addr) { f(data, addr) }

func TestUDPSocketOptions(t *testing.T) {
	runLoopForTest(t, func(loop *reactor.Reactor) {
		defer loop.Stop()
		port := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{})
		defer port.StopListening()
		if on, err := port.BroadcastAllowed(); err != nil || on {
			t.Errorf("BroadcastAllowed() = %v, %v; want false by default", on, err)
		}
		if err := port.SetBroadcastAllowed(true); err != nil {
			t.Fatal(err)
		}
		if on, err := port.BroadcastAllowed(); err != nil || !on {
			t.Errorf("after SetBroadcastAllowed(true): %v, %v", on, err)
		}
		// Twisted's testTTL and the first half of test_loopback.
		if ttl, err := port.MulticastTTL(); err != nil || ttl != 1 {
			t.Errorf("MulticastTTL() = %d, %v; want 1", ttl, err)
		}
		if err := port.SetMulticastTTL(2); err != nil {
			t.Fatal(err)
		}
		if ttl, err := port.MulticastTTL(); err != nil || ttl != 2 {
			t.Errorf("after SetMulticastTTL(2): %d, %v", ttl, err)
		}
		if on, err := port.MulticastLoopback(); err != nil || !on {
			t.Errorf("MulticastLoopback() = %v, %v; want true", on, err)
		}
		if err := port.SetMulticastLoopback(false); err != nil {
			t.Fatal(err)
		}
		if on, err := port.MulticastLoopback(); err != nil || on {
			t.Errorf("after SetMulticastLoopback(false): %v, %v", on, err)
		}
	})
	runLoopForTest(t, func(loop *reactor.Reactor) {
		defer loop.Stop()
		port := mustListenUDP(t, loop, "127.0.0.1:0", &udpRecorder{}, WithBroadcast())
		defer port.StopListening()
		if on, err := port.BroadcastAllowed(); err != nil || !on {
			t.Errorf("WithBroadcast: BroadcastAllowed() = %v, %v", on, err)
		}
	})
}

// Twisted's test_joinLeave and test_joinFailure, on the loopback interface.
func TestUDPMulticastMembership(t *testing.T) {
	runLoopForTest(t, func(loop *reactor.Reactor) {
		defer loop.Stop()
		port := mustListenUDP(t, loop, "0.0.0.0:0", &udpRecorder{})
		defer port.StopListening()
		if err := port.JoinGroup("225.0.0.250", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := port.LeaveGroup("225.0.0.250", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := port.LeaveGroup("225.0.0.250", "127.0.0.1"); err == nil {
			t.Errorf("leaving a group not joined succeeded")
		}
		for _, group := range []string{"127.0.0.1", "ff02::1", "nonsense"} {
			if err := port.JoinGroup(group, ""); err == nil {
				t.Errorf("JoinGroup(%q) succeeded on an IPv4 port", group)
			}
		}
	})
}

// BenchmarkUDPReceive measures one datagram sent over loopback and read by
// the port into its protocol, without the poller.
func BenchmarkUDPReceive(b *testing.B) {
	loop, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	defer loop.Close()
	sport, err := ListenUDP(loop, "127.0.0.1:0", datagramFunc(func([]byte, net.Addr) {}))
	if err != nil {
		b.Fatal(err)
	}
	cport, err := ListenUDP(loop, "127.0.0.1:0", datagramFunc(func([]byte, net.Addr) {}))
	if err != nil {
		b.Fatal(err)
	}
	if err := cport.Connect(sport.LocalAddr().String()); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := cport.Write(msg); err != nil {
			b.Fatal(err)
		}
		sport.DoRead()
	}
}
