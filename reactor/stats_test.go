//go:build unix

package reactor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/metrics/latency"
)

// TestStatsCounts checks the counters against a known load: posted calls
// from another goroutine, timers and readiness events of a pipe.
func TestStatsCounts(t *testing.T) {
	r, _ := newReactor(t)
	rd, wr := pipe(t)
	reads := 0
	f := &testFD{fd: rd}
	f.read = func() {
		var b [1]byte
		if n, _ := unix.Read(rd, b[:]); n == 1 {
			reads++
		}
		if reads == 3 {
			_ = r.RemoveReader(f)
		}
	}
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	got := make(chan Stats, 1)
	r.CallWhenRunning(func() {
		for range 5 {
			r.CallLater(0, func() {})
		}
		r.CallLater(time.Hour, func() {}) // pending still when read
		go func() {
			for range 10 {
				r.CallFromThread(func() {})
			}
			for i := range uint64(3) {
				write(t, wr, "x")
				// Wait for the loop to see each byte, so that each makes
				// one event (reading removes the readiness).
				for s, _ := r.Stats(time.Second); s.Events <= i; s, _ = r.Stats(time.Second) {
				}
			}
			s, ok := r.Stats(time.Second)
			if !ok {
				t.Error("Stats: the running loop did not answer")
			}
			got <- s
			r.CallFromThread(func() { stop(t, r) })
		}()
	})
	run(t, r)
	s := <-got
	if s.TimersRun != 5 || s.TimersPending != 1 {
		t.Errorf("TimersRun, TimersPending = %d, %d; want 5, 1", s.TimersRun, s.TimersPending)
	}
	if s.Events != 3 || reads != 3 {
		t.Errorf("Events = %d, want 3 (one per byte written, %d read)", s.Events, reads)
	}
	// 10 posted functions, then one per Stats call (which read the loop
	// from within): Posted counts them all, the last one included.
	if s.Posted < 10+1 || s.Iterations < 4 {
		t.Errorf("Posted, Iterations = %d, %d; want at least 11 and 4", s.Posted, s.Iterations)
	}
	if s.Lag.Count() != 5 {
		t.Errorf("Lag counted %d timers, want 5", s.Lag.Count())
	}
	after, ok := r.Stats(0)
	if !ok || after.Posted != s.Posted+1 || after.Uptime < s.Uptime {
		t.Errorf("Stats after Run = %+v, %v; want the final counters (Posted %d)", after, ok, s.Posted+1)
	}
}

// TestStatsLag moves the loop's clock forward under a due timer, as a fake
// clock would, and checks that the lag histogram saw exactly that lateness.
func TestStatsLag(t *testing.T) {
	r, _ := newReactor(t)
	const late = 30 * time.Millisecond
	r.CallWhenRunning(func() {
		r.CallLater(0, func() {
			r.CallLater(0, func() { stop(t, r) })
		})
		// The timer above is due now; make now later than it by late.
		r.epoch = r.epoch.Add(-late)
	})
	run(t, r)
	s, _ := r.Stats(0)
	if s.Lag.Count() != 2 || s.TimersRun != 2 {
		t.Fatalf("Lag counted %d timers, TimersRun %d; want 2, 2", s.Lag.Count(), s.TimersRun)
	}
	if b := latency.Bucket(late); s.Lag.Buckets[b] != 1 {
		t.Errorf("Lag buckets = %v, want one timer in bucket %d (%v)", s.Lag.Buckets, b, late)
	}
	if s.Lag.Max < late || s.Lag.Sum < late {
		t.Errorf("Lag Max, Sum = %v, %v; want at least %v", s.Lag.Max, s.Lag.Sum, late)
	}
}

// TestStatsBusy checks the busy time against a loop that sleeps in the
// poller for a timer, then spins in a callback.
func TestStatsBusy(t *testing.T) {
	defer func(m uint64) { idleSampleMask = m }(idleSampleMask)
	idleSampleMask = 0
	r, _ := newReactor(t)
	const wait, spin = 60 * time.Millisecond, 40 * time.Millisecond
	r.CallWhenRunning(func() {
		r.CallLater(wait, func() {
			for start := time.Now(); time.Since(start) < spin; {
			}
			stop(t, r)
		})
	})
	run(t, r)
	s, _ := r.Stats(0)
	if s.Busy < spin {
		t.Errorf("Busy = %v, want at least the %v spent spinning", s.Busy, spin)
	}
	if idle := s.Uptime - s.Busy; idle < wait*3/4 {
		t.Errorf("idle = %v (Uptime %v, Busy %v), want about the %v waited for the timer", idle, s.Uptime, s.Busy, wait)
	}
}

// TestStatsStalled checks that a loop stuck in a callback is reported as
// such, with the counters it last gave, and answers again once free.
func TestStatsStalled(t *testing.T) {
	r, _ := newReactor(t)
	release := make(chan struct{})
	done := make(chan struct{})
	r.CallWhenRunning(func() {
		go func() {
			defer close(done)
			first, ok := r.Stats(time.Second)
			if !ok {
				t.Error("Stats: the idle loop did not answer")
			}
			r.CallFromThread(func() { <-release })
			s, ok := r.Stats(10 * time.Millisecond)
			if ok || s != first {
				t.Errorf("Stats of a stuck loop = %+v, %v; want the last counters %+v and false", s, ok, first)
			}
			close(release)
			if s, ok := r.Stats(time.Second); !ok || s.Posted <= first.Posted {
				t.Errorf("Stats after the stall = %+v, %v; want new counters", s, ok)
			}
			r.CallFromThread(func() { stop(t, r) })
		}()
	})
	run(t, r)
	<-done
}

func TestStatsNotRunning(t *testing.T) {
	r, _ := newReactor(t)
	r.CallLater(time.Hour, func() {})
	if s, ok := r.Stats(time.Second); !ok || s != (Stats{}) {
		t.Errorf("Stats before Run = %+v, %v; want nothing counted", s, ok)
	}
}
