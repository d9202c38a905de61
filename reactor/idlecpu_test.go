//go:build unix

package reactor

import (
	"flag"
	"syscall"
	"testing"
	"time"
)

var idleCPU = flag.Duration("reactor.idlecpu", 0,
	"run TestIdleCPU: keep a reactor idle this long and report the process CPU time")

// TestIdleCPU runs a reactor with nothing to do but a far timer for
// -reactor.idlecpu and reports the CPU time the whole process used meanwhile
// (the Go runtime included). It asserts nothing: it is a measurement.
//
//	go test -run TestIdleCPU -reactor.idlecpu 5s ./reactor/
func TestIdleCPU(t *testing.T) {
	if *idleCPU == 0 {
		t.Skip("measurement; enable with -reactor.idlecpu 5s")
	}
	r, _ := newReactor(t)
	r.CallLater(time.Hour, func() {})
	var before, after syscall.Rusage
	r.CallWhenRunning(func() {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
			t.Error(err)
		}
		go func() {
			time.Sleep(*idleCPU) // the measured period, not synchronisation
			r.CallFromThread(func() {
				if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
					t.Error(err)
				}
				stop(t, r)
			})
		}()
	})
	run(t, r)
	cpu := func(ru *syscall.Rusage) time.Duration {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	t.Logf("idle for %v: process CPU time %v (user %v, system %v)", *idleCPU,
		cpu(&after)-cpu(&before),
		time.Duration(after.Utime.Nano()-before.Utime.Nano()),
		time.Duration(after.Stime.Nano()-before.Stime.Nano()))
}
