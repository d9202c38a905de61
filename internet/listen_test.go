//go:build unix

package internet

import (
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
)

func TestStartAndStopFactoryOnceAcrossTwoPorts(t *testing.T) {
	f := &starter{clientFactory: clientFactory{build: func(net.Addr) Protocol { return nil }}}
	runStreamTest(t, func(loop *reactor.Reactor) {
		p1 := mustListenTCP(t, loop, f)
		p2 := mustListenTCP(t, loop, f)
		if f.starts != 1 {
			t.Errorf("started %d times by two ports", f.starts)
		}
		fired := false
		p1.StopListening().AddCallback(func(any) (any, error) { fired = true; return nil, nil })
		if !fired || f.stops != 0 {
			t.Errorf("after the first StopListening: fired %v, stopped %d times", fired, f.stops)
		}
		p2.StopListening()
		p2.StopListening()
		if f.stops != 1 {
			t.Errorf("stopped %d times after both ports stopped", f.stops)
		}
		// The port is closed: connecting is refused.
		ConnectTCP(loop, p1.Addr().String(), &clientFactory{
			build: func(net.Addr) Protocol { t.Error("connected to a stopped port"); return nil },
			failed: func(_ Connector, r error) {
				if !errors.Is(r, ErrConnectionRefused) {
					t.Errorf("failed with %v", r)
				}
				_ = loop.Stop()
			},
		})
	})
}

func TestListenTCPErrors(t *testing.T) {
	runStreamTest(t, func(loop *reactor.Reactor) {
		defer func() { _ = loop.Stop() }()
		p := mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol { return nil }))
		defer p.StopListening()
		if _, err := ListenTCP(loop, p.Addr().String(), FactoryFunc(func(net.Addr) Protocol { return nil })); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listening on a used address returned %v", err)
		}
		for _, addr := range []string{"127.0.0.1", "127.0.0.1:99999", "no-such-host.invalid:80"} {
			if _, err := ListenTCP(loop, addr, FactoryFunc(func(net.Addr) Protocol { return nil })); err == nil {
				t.Errorf("ListenTCP(%q) did not fail", addr)
			}
		}
	})
}

func TestAcceptBacksOffWhenOutOfDescriptors(t *testing.T) {
	clk := task.NewClock()
	var port *Port
	served := 0
	failures := []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED}
	runStreamTest(t, func(loop *reactor.Reactor) {
		port = mustListenTCP(t, loop, FactoryFunc(func(net.Addr) Protocol {
			served++
			return &recorder{onMade: func(r *recorder) { _, _ = r.Transport.Write([]byte("hi")) }}
		}))
		port.clock = clk
		port.accept = func(fd int) (int, net.Addr, error) {
			if len(failures) > 0 {
				err := failures[0]
				failures = failures[1:]
				if err != syscall.ECONNABORTED {
					// The listener backs off: advance the fake clock
					// by the delay expected, on the next turn.
					loop.CallLater(0, func() {
						want := map[int]string{2: "10ms", 1: "20ms"}[len(failures)]
						if port.backoff.String() != want || port.retry == nil {
							t.Errorf("backing off for %v, want %s", port.backoff, want)
						}
						clk.Advance(port.backoff)
					})
				}
				return -1, nil, err
			}
			return sysAccept(fd)
		}
		ConnectProtocol(loop, port.Addr().String(), &recorder{onData: func(r *recorder, _ []byte) { _ = loop.Stop() }})
	})
	if served != 1 || len(failures) != 0 || port.backoff != 0 {
		t.Errorf("served %d connections, %d failures left, back-off %v", served, len(failures), port.backoff)
	}
}

// TestListenTCPGroupServesConnectionsOnSeveralLoops also checks that the
// loops serve as many connections each, give or take one, whatever the
// kernel's hash of SO_REUSEPORT chose: the clients keep their connections
// open until every one has been echoed.
func TestListenTCPGroupServesConnectionsOnSeveralLoops(t *testing.T) {
	const clients = 32
	g, err := reactor.NewGroup(2)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	loopsUsed := map[*reactor.Reactor]int{}
	f := FactoryFunc(func(net.Addr) Protocol {
		return &recorder{onMade: func(r *recorder) {
			mu.Lock()
			loopsUsed[r.Transport.(Looper).Loop()]++
			mu.Unlock()
		}, onData: func(r *recorder, b []byte) { _, _ = r.Transport.Write(b) }}
	})
	gp, err := ListenTCPGroup(g, "127.0.0.1:0", f)
	if err != nil {
		t.Fatal(err)
	}
	// The group's sockets count as one listener (stats.go).
	if open := OpenListeners(); !slices.Contains(open, Listener(gp)) || slices.ContainsFunc(open, func(l Listener) bool { _, p := l.(*Port); return p && l.Addr() == gp.Addr() }) {
		t.Errorf("OpenListeners = %v; want the group, not its sockets", open)
	}
	stopGroup := runGroup(t, g, gp)
	echoed := 0
	runStreamTest(t, func(loop *reactor.Reactor) {
		for range clients {
			ConnectProtocol(loop, gp.Addr().String(), &recorder{
				onMade: func(r *recorder) { _, _ = r.Transport.Write([]byte("ping")) },
				onData: func(r *recorder, _ []byte) {
					if string(r.data) == "ping" {
						if echoed++; echoed == clients {
							_ = loop.Stop()
						}
					}
				},
			})
		}
	})
	stopGroup()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range loopsUsed {
		total += n
	}
	if echoed != clients || total != clients || len(loopsUsed) != 2 {
		t.Errorf("echoed %d; connections per loop: %v", echoed, loopsUsed)
	}
	for _, n := range loopsUsed {
		if n < clients/2-1 || n > clients/2+1 {
			t.Errorf("connections per loop: %v, want %d±1 each", loopsUsed, clients/2)
		}
	}
	if s := gp.Stats(); s.Accepted != clients || s.Open != 0 || s.BytesIn != 4*clients || s.BytesOut != 4*clients {
		t.Errorf("Stats = %+v; want %d accepted over the loops, none open, %d bytes each way", s, clients, 4*clients)
	}
	if slices.Contains(OpenListeners(), Listener(gp)) {
		t.Error("OpenListeners still has a group that stopped listening")
	}
}

// runGroup runs g on a goroutine of its own; the function it returns stops
// gp listening (on the group's first loop, where a GroupPort stops), then
// stops g and waits for Run to return.
func runGroup(t *testing.T, g *reactor.Group, gp *GroupPort) (stop func()) {
	done := make(chan error)
	go func() { done <- g.Run() }()
	return func() {
		t.Helper()
		stopped := make(chan struct{})
		g.Loops()[0].CallFromThread(func() {
			gp.StopListening().AddCallback(func(any) (any, error) { close(stopped); return nil, nil })
		})
		<-stopped
		g.Stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestDefaultBacklogIsTheSystemMaximum(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Skip("no /proc/sys/net/core/somaxconn here:", err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := DefaultBacklog(); got != min(want, 1<<16-1) || got < 128 {
		t.Errorf("DefaultBacklog() = %d, somaxconn %d", got, want)
	}
	if c := newListenConfig(nil); c.backlog != DefaultBacklog() {
		t.Errorf("a listener's backlog is %d", c.backlog)
	}
	if c := newListenConfig([]ListenOption{WithBacklog(50)}); c.backlog != 50 {
		t.Errorf("WithBacklog(50) gives %d", c.backlog)
	}
}
