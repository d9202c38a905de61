// Package looptest serves a protocol on a real loop over loopback TCP for
// the flow-control tests of the rpc servers, and watches its connections.
package looptest

import (
	"net"
	"testing"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// Serve runs f on a new loop, listening on loopback TCP, until the test
// ends; it returns the loop and the address.
func Serve(t *testing.T, f internet.Factory) (*reactor.Reactor, string) {
	t.Helper()
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	port, err := internet.ListenTCP(loop, "127.0.0.1:0", f)
	if err != nil {
		t.Fatal(err)
	}
	RunLoop(t, loop)
	return loop, port.Addr().String()
}

// RunLoop runs loop on a goroutine of its own until the test or benchmark
// ends, and then stops it.
func RunLoop(tb testing.TB, loop *reactor.Reactor) {
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	tb.Cleanup(func() {
		loop.CallFromThread(func() { _ = loop.Stop() })
		if err := <-done; err != nil {
			tb.Error(err)
		}
	})
}

// Dial connects to addr, until the test ends.
func Dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Watch wraps the protocols f builds to report, without blocking the loop,
// each time one pauses reading on paused and its connection's loss on lost.
// A report that finds the channel full is dropped: give each a buffer of one and
// the latest is never lost to an earlier one already taken.
func Watch(f internet.Factory, paused chan<- struct{}, lost chan<- error) internet.Factory {
	return internet.FactoryFunc(func(addr net.Addr) internet.Protocol {
		return &watched{Protocol: f.BuildProtocol(addr), paused: paused, lost: lost}
	})
}

type watched struct {
	internet.Protocol
	paused chan<- struct{}
	lost   chan<- error
}

func (w *watched) ConnectionMade(t internet.Transport) {
	w.Protocol.ConnectionMade(&pauseSpy{Transport: t, paused: w.paused})
}

func (w *watched) ConnectionLost(reason error) {
	select {
	case w.lost <- reason:
	default:
	}
	w.Protocol.ConnectionLost(reason)
}

// pauseSpy is the transport as the protocol sees it: it reports each
// PauseProducing.
type pauseSpy struct {
	internet.Transport
	paused chan<- struct{}
}

func (s *pauseSpy) PauseProducing() {
	select {
	case s.paused <- struct{}{}:
	default:
	}
	s.Transport.PauseProducing()
}
