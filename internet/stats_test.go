//go:build unix

package internet

import (
	"net"
	"slices"
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
