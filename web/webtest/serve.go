package webtest

import (
	"testing"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web"
)

// RunLoop runs a new loop until the test ends, for tests that use real
// sockets.
func RunLoop(tb testing.TB) *reactor.Reactor {
	tb.Helper()
	loop, err := reactor.New()
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	tb.Cleanup(func() {
		loop.CallFromThread(func() { _ = loop.Stop() })
		if err := <-done; err != nil {
			tb.Error(err)
		}
		_ = loop.Close()
	})
	return loop
}

// Serve serves site on a loop of its own on a loopback port, for tests
// that use real clients, and returns the address. The loop stops when the
// test ends.
func Serve(tb testing.TB, site *web.Site) string {
	tb.Helper()
	loop := RunLoop(tb)
	port, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		return internet.ListenTCP(loop, "127.0.0.1:0", site)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return port.(*internet.Port).Addr().String()
}
