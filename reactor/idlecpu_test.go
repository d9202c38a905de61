//go:build unix

package reactor

import (
	"syscall"
	"testing"
	"time"
)

// idleSlice is how long each iteration of BenchmarkIdleCPU keeps the
// reactor idle.
const idleSlice = 100 * time.Millisecond

// BenchmarkIdleCPU keeps a reactor idle, with nothing to do but a far timer,
// for 100 ms per iteration, and reports the CPU time the whole process (the
// Go runtime included) used per second of idleness. Five idle seconds:
//
//	go test -run '^$' -bench IdleCPU -benchtime 50x ./reactor/
func BenchmarkIdleCPU(b *testing.B) {
	r, _ := newReactor(b)
	r.CallLater(time.Hour, func() {})
	var before, after syscall.Rusage
	idle := time.Duration(b.N) * idleSlice
	r.CallWhenRunning(func() {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
			b.Error(err)
		}
		r.CallLater(idle, func() {
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
				b.Error(err)
			}
			stop(b, r)
		})
	})
	b.ResetTimer()
	run(b, r)
	cpu := func(ru *syscall.Rusage) time.Duration {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ReportMetric(float64(cpu(&after)-cpu(&before))/1e3/idle.Seconds(), "cpu-µs/idle-s")
}
