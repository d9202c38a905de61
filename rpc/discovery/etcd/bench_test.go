package etcd

import (
	"context"
	"fmt"
	"testing"

	"github.com/twistgo/twist/rpc"
)

// BenchmarkCall compares calls through the balancing client, with one and
// with three instances, against one rpc.Client straight to an instance.
func BenchmarkCall(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("balanced-%d", n), func(b *testing.B) {
			e := startEtcd(b)
			for i := range n {
				startInstance(b, e, fmt.Sprintf("s%d", i), 1)
			}
			c := dialService(b, e)
			waitLive(b, c, n)
			runCalls(b, c.Call)
		})
	}
	b.Run("direct", func(b *testing.B) {
		e := startEtcd(b)
		in := startInstance(b, e, "s0", 1)
		c, err := rpc.Dial(context.Background(), in.addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		runCalls(b, c.Call)
	})
}

func runCalls(b *testing.B, call func(context.Context, string, []any, any) error) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		var who string
		for pb.Next() {
			if err := call(ctx, "whoami", nil, &who); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
