package reactor

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twistgo/twist/clock"
)

const pendingTimers = 100_000

// withPending returns a reactor holding 100,000 pending timers, due within
// the next hour in random order.
func withPending(b *testing.B) (*Reactor, []clock.DelayedCall, *rand.Rand) {
	r, _ := newReactor(b)
	rng := rand.New(rand.NewPCG(1, 2))
	calls := make([]clock.DelayedCall, pendingTimers)
	for i := range calls {
		calls[i] = r.CallLater(randomDelay(rng), func() {})
	}
	return r, calls, rng
}

func randomDelay(rng *rand.Rand) time.Duration {
	return time.Minute + time.Duration(rng.Int64N(int64(time.Hour)))
}

// BenchmarkCallLaterCancel: each op cancels a pending timer (anywhere in the
// heap) and schedules a replacement, with 100,000 pending.
func BenchmarkCallLaterCancel(b *testing.B) {
	r, calls, rng := withPending(b)
	f := func() {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % pendingTimers
		if err := calls[j].Cancel(); err != nil {
			b.Fatal(err)
		}
		calls[j] = r.CallLater(randomDelay(rng), f)
	}
}

// BenchmarkCallLaterReset: each op reschedules a pending timer, with 100,000
// pending (the idle-timeout pattern: reset on every read).
func BenchmarkCallLaterReset(b *testing.B) {
	_, calls, rng := withPending(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := calls[i%pendingTimers].Reset(randomDelay(rng)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallFromThread4: four goroutines post b.N calls in all to a
// running loop; ns/op is the time per call, from posting to running.
func BenchmarkCallFromThread4(b *testing.B) {
	const posters = 4
	r, _ := newReactor(b)
	done := make(chan struct{})
	n := 0
	count := func() {
		n++
		if n == b.N {
			close(done)
		}
	}
	go func() { _ = r.Run() }()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := p; i < b.N; i += posters {
				r.CallFromThread(count)
			}
		})
	}
	<-done
	b.StopTimer()
	wg.Wait()
	r.CallFromThread(func() { _ = r.Stop() })
}

// BenchmarkWakeLatency measures the time from CallFromThread to the call
// running on a loop that was asleep in the poller, with the loop's
// goroutine free or locked to its OS thread. It reports the median and the
// 99th percentile.
func BenchmarkWakeLatency(b *testing.B) {
	for _, locked := range []bool{false, true} {
		b.Run(map[bool]string{false: "free", true: "locked"}[locked], func(b *testing.B) {
			r, _ := newReactor(b)
			stopped := make(chan struct{})
			go func() {
				if locked {
					runtime.LockOSThread()
				}
				_ = r.Run()
				close(stopped)
			}()
			lat := make([]time.Duration, 0, b.N)
			ran := make(chan time.Duration)
			b.ResetTimer()
			for range b.N {
				waitAsleep(r)
				t0 := time.Now()
				r.CallFromThread(func() { ran <- time.Since(t0) })
				lat = append(lat, <-ran)
			}
			b.StopTimer()
			r.CallFromThread(func() { _ = r.Stop() })
			<-stopped
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
