package bench

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkAdd calls add(1, 2) in each case of the table, with the server
// in this process (quick comparisons: rpcbench measures with the server in
// its own process). The pipelined case, which is not a loop of calls, is
// rpcbench's only.
func BenchmarkAdd(b *testing.B) {
	for _, c := range cases() {
		if c.pipelined {
			continue
		}
		b.Run(c.system+"/"+c.shape, func(b *testing.B) {
			addrs, stop, err := servers[c.server]()
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			calls, closeAll, err := c.calls(addrs[c.listen])
			if err != nil {
				b.Fatal(err)
			}
			defer closeAll()
			var next atomic.Int64
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((c.goroutines + procs - 1) / procs)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				call := calls[int(next.Add(1)-1)%len(calls)]
				for pb.Next() {
					if err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
