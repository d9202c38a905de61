//go:build unix

package rpc

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc/internal/looptest"
)

// envServe starts the server process of BenchmarkClient.
const envServe = "TWIST_RPC_BENCH_SERVE"

// BenchmarkClient calls add through Call from goroutines outside the
// client's loop, against a server in a separate process over loopback TCP,
// so that the benchmark process's CPU time is the client's own: it reports
// calls/s and the client's user and system CPU time per call (its loop,
// its callers and the Go runtime). The allocations are the client's too.
//
//	go test -run XXX -bench Client -benchtime 200000x ./rpc/
func BenchmarkClient(b *testing.B) {
	for _, bc := range []struct {
		name             string
		clients, callers int
	}{
		{"clients=50", 50, 1},
		{"clients=1/callers=64", 1, 64},
	} {
		b.Run(bc.name, func(b *testing.B) { benchClient(b, bc.clients, bc.callers) })
	}
}

func benchClient(b *testing.B, clients, callers int) {
	addr := looptest.StartChild(b, "TestClientBenchServer", envServe+"=1", false)[0]
	loop, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	looptest.RunLoop(b, loop)
	dialed := make(chan any, clients)
	loop.CallFromThread(func() {
		for range clients {
			DialOn(loop, addr).AddBoth(func(r any) (any, error) {
				dialed <- r
				return nil, nil
			})
		}
	})
	cs := make([]*Client, clients)
	for i := range cs {
		r := <-dialed
		if f, ok := r.(*deferred.Failure); ok {
			b.Fatal(f)
		}
		cs[i] = r.(*Client)
	}
	defer loop.CallFromThread(func() {
		for _, c := range cs {
			c.Close()
		}
	})

	args := []any{1, 2}
	looptest.RunCallers(b, clients*callers, func(g int) error {
		var sum int
		if err := cs[g%clients].Call(context.Background(), "add", args, &sum); err != nil || sum != 3 {
			return fmt.Errorf("add(1, 2) = %d, %v", sum, err)
		}
		return nil
	})
}

// TestClientBenchServer is the server process of BenchmarkClient: it is
// skipped unless the benchmark started it. It serves add on loopback,
// says where, and stops when its standard input closes.
func TestClientBenchServer(t *testing.T) {
	if os.Getenv(envServe) == "" {
		t.Skip("the server process of BenchmarkClient")
	}
	s := NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	port, err := internet.ListenTCP(loop, "127.0.0.1:0", s.Factory())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("listening", port.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		loop.CallFromThread(func() { _ = loop.Stop() })
	}()
	if err := loop.Run(); err != nil {
		t.Fatal(err)
	}
}
