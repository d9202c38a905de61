package metrics_test

import (
	"fmt"
	"log"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
)

// A program registers its loops and pools once; any goroutine then reads
// them, as the status page's handlers do.
func Example() {
	loop, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.NewRegistry()
	reg.AddLoop("main", loop)
	reg.AddThreadPool("default", threads.Default())

	loop.CallWhenRunning(func() {
		loop.CallLater(0, func() {
			go func() {
				// Another goroutine reads while the loop runs.
				s := reg.Snapshot()
				l := s.Loops[0]
				fmt.Println(l.Name, l.Responding, l.TimersRun, s.Threads[0].Size)

				// The same, for Prometheus (promhttp.HandlerFor(preg, ...)
				// serves it on /metrics).
				preg := prometheus.NewRegistry()
				if err := reg.Register(preg); err != nil {
					log.Fatal(err)
				}
				mfs, _ := preg.Gather()
				fmt.Println(len(mfs) > 0)
				_ = loop.Stop()
			}()
		})
	})
	if err := loop.Run(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// main true 1 10
	// true
}
