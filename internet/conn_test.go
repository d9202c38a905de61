//go:build unix

package internet

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/reactor"
)

// pushProducer writes chunks as long as it is not paused, one chunk per
// turn of the loop, and records the queue at each pause and resume.
type pushProducer struct {
	conn           *Conn
	chunk          []byte
	left           int
	paused         bool
	stopped        bool
	pausedAt       []int
	resumedAt      []int
	done           func()
	writeScheduled bool
}

func (p *pushProducer) PauseProducing() {
	p.paused = true
	p.pausedAt = append(p.pausedAt, p.conn.queued())
}

func (p *pushProducer) ResumeProducing() {
	p.paused = false
	p.resumedAt = append(p.resumedAt, p.conn.queued())
	p.schedule()
}

func (p *pushProducer) StopProducing() { p.stopped = true }

func (p *pushProducer) schedule() {
	if !p.writeScheduled {
		p.writeScheduled = true
		p.conn.loop.CallLater(0, p.produce)
	}
}

func (p *pushProducer) produce() {
	p.writeScheduled = false
	for !p.paused && p.left > 0 {
		n := min(p.left, len(p.chunk))
		if _, err := p.conn.Write(p.chunk[:n]); err != nil {
			return
		}
		p.left -= n
	}
	if p.left == 0 {
		p.conn.UnregisterProducer()
		p.done()
	}
}

func TestConnPushProducerPausedAndResumedAtTheWaterMarks(t *testing.T) {
	const high, low, total = 32 << 10, 8 << 10, 4 << 20
	var prod *pushProducer
	client := &recorder{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			return &recorder{onMade: func(r *recorder) {
				c := r.Transport.(*Conn)
				prod = &pushProducer{conn: c, chunk: pattern(4 << 10), left: total, done: c.LoseConnection}
				if err := c.RegisterProducer(prod, true); err != nil {
					t.Error(err)
				}
				if err := c.RegisterProducer(prod, true); err != ErrProducerRegistered {
					t.Errorf("a second RegisterProducer returned %v", err)
				}
				prod.produce()
			}}
		}), WithWriteLimits(high, low, 64<<20))
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if len(client.data) != total || client.reason != ErrConnectionDone {
		t.Fatalf("the client read %d of %d bytes and lost the connection with %v", len(client.data), total, client.reason)
	}
	if len(prod.pausedAt) == 0 || len(prod.pausedAt) != len(prod.resumedAt) {
		t.Fatalf("paused %d times, resumed %d times", len(prod.pausedAt), len(prod.resumedAt))
	}
	for i := range prod.pausedAt {
		if prod.pausedAt[i] <= high || prod.resumedAt[i] > low {
			t.Errorf("pause %d at %d bytes queued (want > %d), resumed at %d (want <= %d)",
				i, prod.pausedAt[i], high, prod.resumedAt[i], low)
		}
	}
	if prod.stopped {
		t.Error("an unregistered producer was stopped")
	}
}

// pullProducer writes one chunk each time it is asked.
type pullProducer struct {
	conn    *Conn
	left    int
	asked   int
	stopped bool
}

func (p *pullProducer) ResumeProducing() {
	p.asked++
	if p.left == 0 {
		p.conn.UnregisterProducer()
		p.conn.LoseConnection()
		return
	}
	p.left--
	_, _ = p.conn.Write(pattern(1000))
}

func (p *pullProducer) StopProducing() { p.stopped = true }

func TestConnPullProducerIsAskedEachTimeTheQueueDrains(t *testing.T) {
	const chunks = 50
	var prod *pullProducer
	client := &recorder{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			return &recorder{onMade: func(r *recorder) {
				prod = &pullProducer{conn: r.Transport.(*Conn), left: chunks}
				_ = r.Transport.RegisterProducer(prod, false)
			}}
		}))
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if len(client.data) != chunks*1000 || prod.asked != chunks+1 {
		t.Errorf("the client read %d bytes; the producer was asked %d times, want %d", len(client.data), prod.asked, chunks+1)
	}
}

func TestConnLoseConnectionWaitsForTheProducerToUnregister(t *testing.T) {
	client := &recorder{}
	var server *recorder
	prod := &pushProducer{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			server = &recorder{onMade: func(r *recorder) {
				_ = r.Transport.RegisterProducer(prod, true)
				_, _ = r.Transport.Write([]byte("abc"))
				r.Transport.LoseConnection()
			}}
			return server
		}))
		client.onData = func(r *recorder, _ []byte) {
			// The server's output is flushed, and it is still open.
			if server.lost != 0 {
				t.Error("the connection closed with a producer registered")
			}
			loop.CallLater(0, server.Transport.UnregisterProducer)
		}
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if string(client.data) != "abc" || client.reason != ErrConnectionDone || server.reason != ErrConnectionDone {
		t.Errorf("client read %q, lost with %v; server lost with %v", client.data, client.reason, server.reason)
	}
}

// closedByServer connects a client to a server whose protocol runs onMade
// once connected, and runs the loop until both sides have lost the
// connection.
func closedByServer(t *testing.T, onMade func(r *recorder)) (server, client *recorder) {
	client = &recorder{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			server = &recorder{onMade: onMade}
			server.onLost = func(*recorder) {
				if client.lost == 1 {
					_ = loop.Stop()
				}
			}
			return server
		}))
		client.onLost = func(*recorder) {
			if server.lost == 1 {
				_ = loop.Stop()
			}
		}
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	return server, client
}

func TestConnAbortDropsTheQueueAndResetsThePeer(t *testing.T) {
	server, client := closedByServer(t, func(r *recorder) {
		c := r.Transport.(*Conn)
		_, _ = c.Write(pattern(8 << 20))
		r.inWrite = true
		c.AbortConnection()
		c.AbortConnection()
		c.LoseConnection()
		r.inWrite = false
		if c.queued() != 0 {
			t.Errorf("%d bytes still queued after AbortConnection", c.queued())
		}
		if _, err := c.Write([]byte("x")); err != ErrConnectionClosed {
			t.Errorf("Write after AbortConnection returned %v", err)
		}
	})
	if server.lost != 1 || !errors.Is(server.reason, ErrConnectionAborted) || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("the server lost its connection %d times with %v", server.lost, server.reason)
	}
	if client.lost != 1 || !errors.Is(client.reason, syscall.ECONNRESET) || !errors.Is(client.reason, ErrConnectionLost) {
		t.Errorf("the client lost its connection %d times with %v, want a reset", client.lost, client.reason)
	}
	if len(client.data) == 8<<20 {
		t.Error("the aborted connection's queue was delivered")
	}
}

func TestConnPeerResetIsConnectionLostWithTheErrno(t *testing.T) {
	client := &recorder{}
	var server *recorder
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			server = &recorder{onLost: func(*recorder) { _ = loop.Stop() }}
			return server
		}))
		client.onMade = func(r *recorder) {
			// What Twisted's test_tcp does to reset: SO_LINGER 0, close.
			fd := r.Transport.(*Conn).Fd()
			if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
				t.Error(err)
			}
			r.Transport.LoseConnection()
		}
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if server.lost != 1 || !errors.Is(server.reason, syscall.ECONNRESET) || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("the server lost its connection %d times with %v", server.lost, server.reason)
	}
}

func TestConnOutputLimitClosesAConnectionWhosePeerDoesNotRead(t *testing.T) {
	const hard = 1 << 20
	var server *recorder
	var writeErr error
	client := &recorder{onMade: func(r *recorder) { r.Transport.PauseProducing() }}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			server = &recorder{onMade: func(r *recorder) {
				chunk := pattern(64 << 10)
				r.inWrite = true
				for writeErr == nil {
					_, writeErr = r.Transport.Write(chunk)
				}
				r.inWrite = false
				if r.Transport.(*Conn).queued() > hard {
					t.Errorf("%d bytes queued, past the limit", r.Transport.(*Conn).queued())
				}
			}}
			server.onLost = func(*recorder) { client.Transport.AbortConnection() }
			return server
		}), WithWriteLimits(64<<10, 16<<10, hard))
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if writeErr != ErrOutputLimit {
		t.Errorf("Write returned %v, want ErrOutputLimit", writeErr)
	}
	if server.lost != 1 || !errors.Is(server.reason, ErrOutputLimit) || !errors.Is(server.reason, ErrConnectionLost) {
		t.Errorf("the server lost its connection %d times with %v", server.lost, server.reason)
	}
}

// halfCloser is a HalfCloseableProtocol recording its half-closes.
type halfCloser struct {
	recorder
	readLost, writeLost int
	onReadLost          func()
}

func (h *halfCloser) ReadConnectionLost() {
	h.readLost++
	if h.onReadLost != nil {
		h.onReadLost()
	}
}

func (h *halfCloser) WriteConnectionLost() { h.writeLost++ }

func TestConnHalfClose(t *testing.T) {
	client := &halfCloser{}
	var server *halfCloser
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			server = &halfCloser{}
			server.onReadLost = func() {
				_, _ = server.Transport.Write([]byte("got " + string(server.data)))
				server.Transport.LoseConnection()
			}
			return server
		}))
		client.onMade = func(r *recorder) {
			_, _ = r.Transport.Write([]byte("ping"))
			r.Transport.(*Conn).LoseWriteConnection()
			if _, err := r.Transport.Write([]byte("more")); err != ErrConnectionClosed {
				t.Errorf("Write after LoseWriteConnection returned %v", err)
			}
		}
		client.onReadLost = func() { client.Transport.LoseConnection() }
		client.onLost = func(*recorder) { _ = loop.Stop() }
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if string(client.data) != "got ping" || client.writeLost != 1 || client.readLost != 1 {
		t.Errorf("client read %q, write lost %d, read lost %d", client.data, client.writeLost, client.readLost)
	}
	if server.readLost != 1 || client.reason != ErrConnectionDone || server.reason != ErrConnectionDone {
		t.Errorf("server read lost %d; client lost with %v, server with %v", server.readLost, client.reason, server.reason)
	}
}

func TestConnPauseProducingStopsReading(t *testing.T) {
	var server *recorder
	client := &recorder{}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			server = &recorder{onMade: func(r *recorder) { r.Transport.PauseProducing() }}
			return server
		}))
		client.onMade = func(r *recorder) {
			_, _ = r.Transport.Write([]byte("data"))
			// A few turns of the loop for the server to not read it.
			var turns func(n int)
			turns = func(n int) {
				if n > 0 {
					loop.CallLater(0, func() { turns(n - 1) })
					return
				}
				if len(server.data) != 0 {
					t.Errorf("a paused transport read %q", server.data)
				}
				server.onData = func(r *recorder, _ []byte) { _ = loop.Stop() }
				server.Transport.ResumeProducing()
			}
			turns(10)
		}
		ConnectProtocol(loop, port.Addr().String(), client)
	})
	if string(server.data) != "data" {
		t.Errorf("the resumed transport read %q", server.data)
	}
}

// socketPair returns a Conn on loop over one end of a socket pair, and the
// other end.
func socketPair(t testing.TB, loop *reactor.Reactor, p Protocol) (*Conn, int) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	c := newConn(loop, fds[0], &net.UnixAddr{Net: "unix"}, &connShared{limits: defaultLimits})
	c.start(p)
	t.Cleanup(func() { unix.Close(fds[1]); c.closeNow(ErrConnectionDone, true) })
	return c, fds[1]
}

func TestConnEchoDoesNotAllocate(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	c, peer := socketPair(t, loop, &echo{})
	msg := pattern(64)
	back := make([]byte, 128)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = unix.Write(peer, msg)
		c.DoRead()
		if n, _ := unix.Read(peer, back); n != len(msg) {
			t.Fatalf("echoed %d bytes", n)
		}
	})
	if allocs != 0 {
		t.Errorf("an echo allocated %v times", allocs)
	}
}

// BenchmarkConnEcho measures the server's side of a 64-byte echo: a read
// into the loop's buffer, DataReceived, and a Write straight to the socket.
func BenchmarkConnEcho(b *testing.B) {
	loop, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	defer loop.Close()
	c, peer := socketPair(b, loop, &echo{})
	msg := pattern(64)
	back := make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = unix.Write(peer, msg)
		c.DoRead()
		_, _ = unix.Read(peer, back)
	}
}

// TestConnFitsIn64Bytes pins the size of what every connection holds
// while idle; the rest is allocated on demand.
func TestConnFitsIn64Bytes(t *testing.T) {
	if size := unsafe.Sizeof(Conn{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 64 {
		t.Errorf("a Conn takes %d bytes, more than 64", size)
	}
}

// stopper is a push producer that only records StopProducing.
type stopper struct{ stopped bool }

func (s *stopper) PauseProducing()  {}
func (s *stopper) ResumeProducing() {}
func (s *stopper) StopProducing()   { s.stopped = true }

func TestConnExtraPartIsAllocatedOnlyWhenNeeded(t *testing.T) {
	tests := []struct {
		name      string
		do        func(t *testing.T, c *Conn, peer int)
		wantExtra bool
	}{
		{"echo", func(t *testing.T, c *Conn, peer int) {
			_, _ = unix.Write(peer, pattern(64))
			c.DoRead()
		}, false},
		{"write the socket takes", func(t *testing.T, c *Conn, peer int) {
			if n, err := c.Write(pattern(64)); n != 64 || err != nil {
				t.Errorf("Write = %d, %v", n, err)
			}
		}, false},
		{"partial write", func(t *testing.T, c *Conn, peer int) {
			// More than a socket pair's buffer holds.
			if n, err := c.Write(pattern(4 << 20)); n != 4<<20 || err != nil {
				t.Errorf("Write = %d, %v", n, err)
			}
			if c.queued() == 0 {
				t.Error("nothing was queued")
			}
		}, true},
		{"producer", func(t *testing.T, c *Conn, peer int) {
			if err := c.RegisterProducer(&stopper{}, true); err != nil {
				t.Error(err)
			}
		}, true},
		{"local address", func(t *testing.T, c *Conn, peer int) {
			if c.LocalAddr() == nil {
				t.Error("no local address")
			}
		}, true},
		{"lose connection", func(t *testing.T, c *Conn, peer int) {
			c.LoseConnection() // nothing queued: it closes on the loop's next turn
			if c.state&stDead == 0 {
				t.Error("the connection is not closing, with nothing to flush")
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop, err := reactor.New()
			if err != nil {
				t.Fatal(err)
			}
			defer loop.Close()
			c, peer := socketPair(t, loop, &echo{})
			tt.do(t, c, peer)
			if got := c.x != nil; got != tt.wantExtra {
				t.Errorf("extra part allocated: %v, want %v", got, tt.wantExtra)
			}
		})
	}
}

func TestConnListenerSharesItsLocalAddress(t *testing.T) {
	runStreamTest(t, func(loop *reactor.Reactor) {
		client := &recorder{}
		var port *Port
		port = mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			return &recorder{onMade: func(r *recorder) {
				c := r.Transport.(*Conn)
				if got := c.LocalAddr(); got != port.Addr() {
					t.Errorf("LocalAddr = %v, want the port's %v", got, port.Addr())
				}
				if c.x != nil {
					t.Error("LocalAddr allocated the extra part")
				}
				_ = loop.Stop()
			}}
		}))
		ConnectProtocol(loop, port.Addr().String(), client)
	})
}

func TestConnClientKeepsItsLocalAddressAfterClosing(t *testing.T) {
	runStreamTest(t, func(loop *reactor.Reactor) {
		port := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return &echo{} }))
		client := &recorder{onMade: func(r *recorder) { r.Transport.AbortConnection() }}
		client.onLost = func(r *recorder) {
			if a, ok := r.Transport.LocalAddr().(*net.TCPAddr); !ok || a.Port == 0 {
				t.Errorf("LocalAddr after the close = %v", r.Transport.LocalAddr())
			}
			_ = loop.Stop()
		}
		ConnectProtocol(loop, port.Addr().String(), client)
	})
}

var errProtocolReason = errors.New("the protocol's own reason")

// AbortConnectionWith closes at once, and the protocol's ConnectionLost gets
// the reason as given; the peer reads the end of the stream.
func TestConnAbortConnectionWithGivesTheReason(t *testing.T) {
	server, client := closedByServer(t, func(r *recorder) {
		r.Transport.(ReasonAborter).AbortConnectionWith(errProtocolReason)
	})
	if server.lost != 1 || server.reason != errProtocolReason {
		t.Errorf("the server lost its connection %d times with %v", server.lost, server.reason)
	}
	if client.lost != 1 || !errors.Is(client.reason, ErrConnectionDone) {
		t.Errorf("the client lost its connection %d times with %v, want a clean close", client.lost, client.reason)
	}
}
