//go:build unix

package looptest

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

// Usage is the CPU time the process has used, in user and in system mode.
type Usage struct{ User, Sys time.Duration }

// ReadUsage returns the CPU time the process has used so far.
func ReadUsage(b *testing.B) Usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return Usage{User: time.Duration(ru.Utime.Nano()), Sys: time.Duration(ru.Stime.Nano())}
}

// ReportPerCall reports calls/s over elapsed, and the CPU time this process
// used per call between before and after, as "<who>-user-ns/call" and
// "<who>-sys-ns/call".
func ReportPerCall(b *testing.B, who string, calls int, elapsed time.Duration, before, after Usage) {
	perCall := func(d time.Duration) float64 { return float64(d) / float64(calls) }
	b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(perCall(after.User-before.User), who+"-user-ns/call")
	b.ReportMetric(perCall(after.Sys-before.Sys), who+"-sys-ns/call")
}

// RunCallers times max(b.N, goroutines) calls spread evenly over goroutines
// that call call with their index; a goroutine whose call fails reports it
// and stops. It reports the calls/s and this process's CPU time per call as
// ReportPerCall does, under "client", and returns the CPU time per call.
func RunCallers(b *testing.B, goroutines int, call func(g int) error) (callsPerSec, cpuPerCall float64) {
	calls := max(b.N, goroutines)
	b.ReportAllocs()
	b.ResetTimer()
	before := ReadUsage(b)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range goroutines {
		n := calls / goroutines
		if g < calls%goroutines {
			n++
		}
		wg.Go(func() {
			for range n {
				if err := call(g); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	after := ReadUsage(b)
	b.StopTimer()
	ReportPerCall(b, "client", calls, elapsed, before, after)
	return float64(calls) / elapsed.Seconds(), float64(after.User+after.Sys-before.User-before.Sys) / float64(calls)
}
