//go:build unix

package etcd

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/looptest"
)

// envServe starts the server process of BenchmarkBalancer.
const envServe = "TWIST_ETCD_BENCH_SERVE"

// benchCallers is how many goroutines call at once in BenchmarkBalancer.
const benchCallers = 16

// BenchmarkBalancer compares calls through the balancing Client, with one
// and with three instances, against rpc.Clients straight to the instances:
// one, and three taken in turn. The instances run in a child process (pinned to CPU 0 when
// taskset is there and the machine has two CPUs or more), so that this
// process's CPU time is the client's own; etcd runs embedded here. The
// four ways take turns for five rounds in the same run, and the parent
// logs each way's median calls/s and client CPU per call, and their ratios
// to the direct connection's:
//
//	taskset -c 1 go test -run XXX -bench Balancer -benchtime 50000x -v .
func BenchmarkBalancer(b *testing.B) {
	addrs := looptest.StartChild(b, "TestBalancerBenchServer", envServe+"=3", true)
	e := startEtcd(b)
	cli := e.newClient(b)
	for i, addr := range addrs {
		for _, svc := range []string{"one", "three"} {
			if svc == "one" && i > 0 {
				continue
			}
			reg, err := Register(context.Background(), cli, svc, Instance{Address: addr}, WithInstanceName(fmt.Sprint(i)), WithLogger(quiet))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = reg.Close(context.Background()) })
		}
	}
	var direct []*rpc.Client
	for _, addr := range addrs {
		c, err := rpc.Dial(context.Background(), addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		direct = append(direct, c)
	}
	// direct-3 spreads the calls over three connections by turns, with
	// nothing else: the cost of the spreading itself, without the
	// balancer's.
	var turn atomic.Uint32
	direct3 := func(ctx context.Context, name string, args []any, result any) error {
		return direct[turn.Add(1)%3].Call(ctx, name, args, result)
	}
	one := dialServiceNamed(b, e, "one")
	three := dialServiceNamed(b, e, "three")
	waitLive(b, one, 1)
	waitLive(b, three, 3)

	ways := []struct {
		name string
		call func(context.Context, string, []any, any) error
	}{{"direct", direct[0].Call}, {"balanced-1", one.Call}, {"direct-3", direct3}, {"balanced-3", three.Call}}
	rate := map[string][]float64{}
	cpu := map[string][]float64{}
	for range 5 {
		for _, w := range ways {
			// b.Run calls the function with growing b.N: the last run
			// is the one kept.
			var r, c float64
			b.Run(w.name, func(b *testing.B) { r, c = runCalls(b, w.call) })
			rate[w.name] = append(rate[w.name], r)
			cpu[w.name] = append(cpu[w.name], c)
		}
	}
	median := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, w := range ways {
		peer := "direct"
		if strings.HasSuffix(w.name, "-3") {
			peer = "direct-3"
		}
		b.Logf("%-10s median %6.0f calls/s (%.3f of %s), %5.0f client CPU ns/call (%.3f of %s), calls/s by round %.0f",
			w.name, median(rate[w.name]), median(rate[w.name])/median(rate[peer]), peer,
			median(cpu[w.name]), median(cpu[w.name])/median(cpu[peer]), peer, rate[w.name])
	}
}

// runCalls makes b.N calls of "whoami" from benchCallers goroutines and
// returns the calls/s and this process's CPU time per call, which it
// also reports.
func runCalls(b *testing.B, call func(context.Context, string, []any, any) error) (float64, float64) {
	who := make([]string, benchCallers) // one answer slot per goroutine
	return looptest.RunCallers(b, benchCallers, func(g int) error {
		return call(context.Background(), "whoami", nil, &who[g])
	})
}

// TestBalancerBenchServer is the server process of BenchmarkBalancer: it is
// skipped unless the benchmark started it. It serves whoami on loopback
// from as many instances as asked, each with a loop of its own, says where,
// and stops when its standard input closes.
func TestBalancerBenchServer(t *testing.T) {
	var n int
	if _, err := fmt.Sscan(os.Getenv(envServe), &n); err != nil {
		t.Skip("the server process of BenchmarkBalancer")
	}
	var addrs []string
	var loops []*reactor.Reactor
	for i := range n {
		s := rpc.NewServer(rpc.WithLogger(quiet))
		if err := s.Register("whoami", func() string { return fmt.Sprint(i) }); err != nil {
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
		addrs = append(addrs, port.Addr().String())
		loops = append(loops, loop)
	}
	fmt.Println("listening", strings.Join(addrs, " "))
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		for _, loop := range loops {
			loop.CallFromThread(func() { _ = loop.Stop() })
		}
	}()
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Go(func() {
			if err := loop.Run(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkPick is the balancer's own CPU cost per call: choosing an
// instance among three by each policy, with no network. It reports the
// process's CPU time per pick too, which a shared machine does not
// inflate as it does the wall-clock ns/op.
func BenchmarkPick(b *testing.B) {
	for _, p := range []struct {
		name   string
		policy Policy
	}{{"RoundRobin", RoundRobin}, {"LeastOutstanding", LeastOutstanding}, {"PowerOfTwo", PowerOfTwo}} {
		b.Run(p.name, func(b *testing.B) {
			c := &Client{cfg: clientConfig{policy: p.policy}, changed: make(chan struct{})}
			for i := range 3 {
				c.live = append(c.live, &endpoint{key: fmt.Sprint(i), weight: i + 1})
			}
			ctx := context.Background()
			b.ReportAllocs()
			before := looptest.ReadUsage(b)
			for b.Loop() {
				ep, _, err := c.pick(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				ep.outstanding.Add(1)
				ep.outstanding.Add(-1)
			}
			after := looptest.ReadUsage(b)
			b.ReportMetric(float64(after.User+after.Sys-before.User-before.Sys)/float64(b.N), "cpu-ns/pick")
		})
	}
}
