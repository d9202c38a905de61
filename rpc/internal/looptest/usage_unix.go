//go:build unix

package looptest

import (
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
