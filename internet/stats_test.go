//go:build unix

package internet

import (
	"errors"
	"net"
	"slices"
	"syscall"
	"testing"

	"github.com/twistgo/twist/reactor"
)

// TestListenerStats counts a connection that echoes five bytes and one
// that the factory refuses, over loopback.
func TestListenerStats(t *testing.T) {
	var port *Port
	var during, after ListenerStats
	runStreamTest(t, func(loop *reactor.Reactor) {
		served := 0
		port = mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			if served++; served > 1 {
				return nil // refused, as a connection cap does
			}
			return &echo{}
		}))
		if !slices.Contains(OpenListeners(), Listener(port)) {
			t.Error("OpenListeners lacks a port just opened")
		}
		refused := &recorder{onLost: func(*recorder) {
			after = port.Stats()
			port.StopListening()
			_ = loop.Stop()
		}}
		ConnectProtocol(loop, port.Addr().String(), &recorder{
			onMade: func(r *recorder) { _, _ = r.Transport.Write([]byte("hello")) },
			onData: func(r *recorder, _ []byte) {
				if string(r.data) == "hello" {
					during = port.Stats()
					r.Transport.LoseConnection()
				}
			},
			onLost: func(*recorder) {
				// The server side is closed by the time a second
				// connection is accepted: the loop sees the EOF first.
				loop.CallLater(0, func() { ConnectProtocol(loop, port.Addr().String(), refused) })
			},
		})
	})
	if want := (ListenerStats{Open: 1, Accepted: 1, BytesIn: 5, BytesOut: 5}); during != want {
		t.Errorf("Stats while echoing = %+v, want %+v", during, want)
	}
	if want := (ListenerStats{Open: 0, Accepted: 2, Refused: 1, BytesIn: 5, BytesOut: 5}); after != want {
		t.Errorf("Stats at the end = %+v, want %+v", after, want)
	}
	if slices.Contains(OpenListeners(), Listener(port)) {
		t.Error("OpenListeners still has a port that stopped listening")
	}
}

// sub returns the change of the client counters from a to b.
func (b ClientStats) sub(a ClientStats) ClientStats {
	return ClientStats{
		Attempts: b.Attempts - a.Attempts, Connected: b.Connected - a.Connected,
		ConnectRefused: b.ConnectRefused - a.ConnectRefused, ConnectTimedOut: b.ConnectTimedOut - a.ConnectTimedOut,
		ConnectFailed: b.ConnectFailed - a.ConnectFailed, Open: b.Open - a.Open,
		BytesIn: b.BytesIn - a.BytesIn, BytesOut: b.BytesOut - a.BytesOut,
	}
}

// TestClientStats counts a client connection that sends five bytes and
// reads their echo, and an attempt refused by the peer, over loopback (an
// attempt that times out is counted by the same path: TestCountFailed). No test of the package runs in parallel, so the
// process-wide counters change by these alone.
func TestClientStats(t *testing.T) {
	before := Clients()
	var during ClientStats
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return &echo{} }))
		gone := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return nil }))
		gone.StopListening()
		ConnectTCP(loop, gone.Addr().String(), &clientFactory{
			failed: func(Connector, error) {
				ConnectProtocol(loop, port.Addr().String(), &recorder{
					onMade: func(r *recorder) { _, _ = r.Transport.Write([]byte("hello")) },
					onData: func(r *recorder, _ []byte) {
						if string(r.data) == "hello" {
							during = Clients().sub(before)
							r.Transport.LoseConnection()
						}
					},
					onLost: func(*recorder) { port.StopListening(); _ = loop.Stop() },
				})
			},
		})
	})
	if want := (ClientStats{Attempts: 2, Connected: 1, ConnectRefused: 1, Open: 1, BytesIn: 5, BytesOut: 5}); during != want {
		t.Errorf("Clients while echoing = %+v, want %+v", during, want)
	}
	if want := (ClientStats{Attempts: 2, Connected: 1, ConnectRefused: 1, BytesIn: 5, BytesOut: 5}); Clients().sub(before) != want {
		t.Errorf("Clients at the end = %+v, want %+v", Clients().sub(before), want)
	}
}

// TestUDPStats counts the datagrams of a port both ways, one dropped for
// its size, and a send that fails.
func TestUDPStats(t *testing.T) {
	var server, client *UDPPort
	runLoopForTest(t, func(loop *reactor.Reactor) {
		got := 0
		server = mustListenUDP(t, loop, "127.0.0.1:0", datagramFunc(func(b []byte, from net.Addr) {
			if got++; got == 2 {
				_ = server.WriteTo([]byte("ok"), from)
			}
		}), WithMaxDatagramSize(8))
		if !slices.Contains(OpenUDPPorts(), server) {
			t.Error("OpenUDPPorts lacks a port just opened")
		}
		client = mustListenUDP(t, loop, "127.0.0.1:0", datagramFunc(func([]byte, net.Addr) {
			server.StopListening()
			client.StopListening()
			_ = loop.Stop()
		}))
		for _, b := range []string{"one", "far too long", "three"} {
			if err := client.WriteTo([]byte(b), server.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		// Too long for UDP: the socket refuses it at once.
		if err := client.WriteTo(make([]byte, 70000), server.LocalAddr()); err == nil {
			t.Error("a datagram of 70,000 bytes was sent")
		}
	})
	if want := (UDPStats{DatagramsIn: 2, BytesIn: 8, DatagramsOut: 1, BytesOut: 2, Dropped: 1}); server.Stats() != want {
		t.Errorf("server's Stats = %+v, want %+v", server.Stats(), want)
	}
	if want := (UDPStats{DatagramsIn: 1, BytesIn: 2, DatagramsOut: 3, BytesOut: 20, SendErrors: 1}); client.Stats() != want {
		t.Errorf("client's Stats = %+v, want %+v", client.Stats(), want)
	}
	if ports := OpenUDPPorts(); slices.Contains(ports, server) || slices.Contains(ports, client) {
		t.Error("OpenUDPPorts still has ports that stopped listening")
	}
}

// TestCountersDoNotAllocate: what the hot paths count with (a connection's
// bytes, a UDP port's datagrams, a connector's outcome) allocates nothing.
// The cost in instructions is measured by `make overhead`
// (metrics/internal/overheadload).
func TestCountersDoNotAllocate(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	k := clientShard(loop)
	c := &Conn{shared: &connShared{counts: &k.connCounts}}
	p := &UDPPort{}
	refused := &causeError{ErrConnectionRefused, syscall.ECONNREFUSED}
	before := k.in.Load()
	allocs := testing.AllocsPerRun(100, func() {
		c.countIn(64)
		c.countOut(64)
		p.countSent(64, nil)
		clientShard(loop).countFailed(refused)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per count, want 0", allocs)
	}
	if k.in.Load()-before != 101*64 || p.Stats().DatagramsOut != 101 {
		t.Errorf("counted %d bytes in and %d datagrams out, want %d and 101", k.in.Load()-before, p.Stats().DatagramsOut, 101*64)
	}
}

// TestCountFailed checks the classification of failed attempts.
func TestCountFailed(t *testing.T) {
	var k clientCounts
	for _, reason := range []error{
		connectError(syscall.ECONNREFUSED), ErrTimeout,
		ErrConnectingStopped, connectError(syscall.ENETUNREACH), &causeError{ErrConnectFailed, errors.New("no such host")},
	} {
		k.countFailed(reason)
	}
	if r, to, f := k.refused.Load(), k.timedOut.Load(), k.failed.Load(); r != 1 || to != 1 || f != 3 {
		t.Errorf("refused %d, timed out %d, failed %d; want 1, 1, 3", r, to, f)
	}
}
