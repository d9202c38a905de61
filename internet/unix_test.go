//go:build unix

package internet

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/reactor"
)

func TestUnixEchoAndTheSocketFileIsRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.sock")
	var client *recorder
	var serverPeer net.Addr
	runStreamTest(t, func(loop *reactor.Reactor) {
		port, err := ListenUnix(loop, path, FactoryFunc(func(addr net.Addr) Protocol {
			serverPeer = addr
			return &echo{}
		}))
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := port.Addr().(*net.UnixAddr); !ok || a.Name != path {
			t.Errorf("the port's address is %v", port.Addr())
		}
		client = &recorder{
			onMade: func(r *recorder) { _, _ = r.Transport.Write([]byte("over unix")) },
			onData: func(r *recorder, _ []byte) {
				if len(r.data) == len("over unix") {
					r.Transport.LoseConnection()
				}
			},
			onLost: func(*recorder) {
				port.StopListening()
				_ = loop.Stop()
			},
		}
		ConnectUnix(loop, path, &clientFactory{build: func(net.Addr) Protocol { return client }})
	})
	if string(client.data) != "over unix" || client.reason != ErrConnectionDone {
		t.Errorf("read %q, lost with %v", client.data, client.reason)
	}
	if _, ok := serverPeer.(*net.UnixAddr); !ok {
		t.Errorf("the server's peer is %#v", serverPeer)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there: %v", err)
	}
}

func TestListenUnixRemovesAStaleSocketButNotALiveOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.sock")
	// A socket file left by a server that is gone.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	runStreamTest(t, func(loop *reactor.Reactor) {
		defer func() { _ = loop.Stop() }()
		f := FactoryFunc(func(net.Addr) Protocol { return nil })
		p, err := ListenUnix(loop, path, f)
		if err != nil {
			t.Fatal("listening over a stale socket:", err)
		}
		defer p.StopListening()
		if _, err := ListenUnix(loop, path, f); err == nil {
			t.Error("listening over a live socket succeeded")
		}
	})
}

func TestConnectUnixRefused(t *testing.T) {
	var reason error
	runStreamTest(t, func(loop *reactor.Reactor) {
		ConnectUnix(loop, filepath.Join(t.TempDir(), "none.sock"), &clientFactory{
			failed: func(_ Connector, r error) { reason = r; _ = loop.Stop() },
		})
	})
	if reason == nil {
		t.Error("connecting to a missing socket did not fail")
	}
}

func TestGroupHandOffSpreadsConnectionsOverTheLoops(t *testing.T) {
	// Unix sockets use the hand-off from one acceptor everywhere, as TCP
	// does where SO_REUSEPORT does not balance.
	const clients = 8
	path := filepath.Join(t.TempDir(), "group.sock")
	g, err := reactor.NewGroup(2)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	loopsUsed := map[*reactor.Reactor]int{}
	gp, err := ListenUnixGroup(g, path, FactoryFunc(func(net.Addr) Protocol {
		return &recorder{onMade: func(r *recorder) {
			mu.Lock()
			loopsUsed[r.Transport.(Looper).Loop()]++
			mu.Unlock()
			_, _ = r.Transport.Write([]byte("hi"))
		}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(gp.ports) != 1 || gp.ports[0].handoff != g {
		t.Fatalf("%d ports, hand-off %v", len(gp.ports), gp.ports[0].handoff)
	}
	stopGroup := runGroup(t, g, gp)
	greeted := 0
	runStreamTest(t, func(loop *reactor.Reactor) {
		for range clients {
			ConnectUnix(loop, path, &clientFactory{build: func(net.Addr) Protocol {
				return &recorder{onData: func(r *recorder, _ []byte) {
					r.Transport.LoseConnection()
					if greeted++; greeted == clients {
						_ = loop.Stop()
					}
				}}
			}})
		}
	})
	stopGroup()
	mu.Lock()
	defer mu.Unlock()
	for _, loop := range g.Loops() {
		if loopsUsed[loop] != clients/2 {
			t.Errorf("connections per loop: %v, want %d each", loopsUsed, clients/2)
		}
	}
}
