package reactor

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// The tests in this file port Twisted's test_threads.py.

func TestCallFromThreadManyGoroutines(t *testing.T) {
	const goroutines, perGoroutine = 16, 1000
	r, _ := newReactor(t)
	var loop uint64
	count := 0 // unsynchronised: the race detector checks the calls never overlap
	last := make([]int, goroutines)
	outOfOrder := 0
	r.CallWhenRunning(func() {
		loop = goid()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := 1; i <= perGoroutine; i++ {
					r.CallFromThread(func() {
						if goid() != loop {
							t.Error("a posted call ran off the loop goroutine")
						}
						if last[g] != i-1 {
							outOfOrder++
						}
						last[g] = i
						count++
						if count == goroutines*perGoroutine {
							stop(t, r)
						}
					})
				}
			})
		}
		// Wait on another goroutine, not on the loop.
		go wg.Wait()
	})
	run(t, r)
	if count != goroutines*perGoroutine {
		t.Fatalf("%d calls ran, want %d", count, goroutines*perGoroutine)
	}
	if outOfOrder != 0 {
		t.Fatalf("%d calls ran out of their goroutine's order", outOfOrder)
	}
}

func TestCallFromThreadFromLoopRunsLater(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.CallWhenRunning(func() {
		r.CallFromThread(func() {
			events = append(events, "posted")
			stop(t, r)
		})
		events = append(events, "returned")
	})
	run(t, r)
	if len(events) != 2 || events[0] != "returned" {
		t.Fatalf("events = %q, want the posted call after CallFromThread returned", events)
	}
}

// TestRepostingDoesNotStarve checks that a posted call that posts itself
// again lets timers run.
func TestRepostingDoesNotStarve(t *testing.T) {
	r, _ := newReactor(t)
	var again func()
	again = func() { r.CallFromThread(again) }
	r.CallWhenRunning(func() {
		again()
		r.CallLater(0, func() { stop(t, r) })
	})
	run(t, r)
}

// waitAsleep waits until r's loop is blocked in the poller, or about to be.
func waitAsleep(r *Reactor) {
	for !r.sleeping.Load() {
		runtime.Gosched()
	}
}

func TestCallFromThreadWakesSleepingLoop(t *testing.T) {
	for _, pending := range []bool{false, true} {
		name := map[bool]string{false: "no timer", true: "far timer"}[pending]
		t.Run(name, func(t *testing.T) {
			r, _ := newReactor(t)
			if pending {
				r.CallLater(time.Hour, func() { t.Error("the far timer ran") })
			}
			go func() {
				waitAsleep(r)
				r.CallFromThread(func() { stop(t, r) })
			}()
			run(t, r)
		})
	}
}

func TestStopFromAnotherGoroutine(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.AddSystemEventTrigger(Before, "shutdown", trig(func() { events = append(events, "before shutdown") }))
	go func() {
		waitAsleep(r)
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	run(t, r)
	if len(events) != 1 {
		t.Fatalf("events = %q, want the shutdown triggers", events)
	}
}

func TestPostedCallsRunBeforeTimers(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.CallLater(0, func() { events = append(events, "timer") })
	r.CallFromThread(func() { events = append(events, "posted") })
	r.CallLater(0, func() { stop(t, r) })
	run(t, r)
	if len(events) != 2 || events[0] != "posted" {
		t.Fatalf("events = %q, want posted calls first, as Twisted's runUntilCurrent", events)
	}
}

// TestRunPostedTakesNothingPostedAfterAnEmptySnapshot checks that a function
// posted, by a goroutine racing with the loop, just after runPosted found the
// queue empty waits for the next turn. Before, an empty snapshot let
// runPosted run the queue until it ran dry, so a function re-posting itself
// starved timers and I/O for ever.
func TestRunPostedTakesNothingPostedAfterAnEmptySnapshot(t *testing.T) {
	r, _ := newReactor(t)
	last := r.posted.tail.Load() // the snapshot of the empty queue
	runs := 0
	var again func()
	again = func() {
		runs++
		if runs < 100 { // bounded, so that the broken loop ends
			r.CallFromThread(again)
		}
	}
	r.CallFromThread(again) // posted after the snapshot
	r.runPostedUpTo(last)
	if runs != 0 {
		t.Fatalf("runPosted ran %d functions posted after it started, want 0", runs)
	}
	r.runPosted()
	if runs != 1 {
		t.Fatalf("the next turn ran %d functions, want the one posted before it", runs)
	}
}

// TestCallFromThreadAfterStopKeepsNothing checks that a function posted to a
// reactor that will never run again is dropped, not queued: a goroutine that
// goes on posting to a stopped reactor (a worker delivering a late result, a
// ticker) must not grow its queue without end.
func TestCallFromThreadAfterStopKeepsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, r *Reactor)
	}{
		{"after Run", func(t *testing.T, r *Reactor) {
			r.CallWhenRunning(func() { stop(t, r) })
			run(t, r)
		}},
		{"after Close", func(t *testing.T, r *Reactor) {
			if err := r.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newReactor(t)
			tc.end(t, r)
			for range 3 {
				r.CallFromThread(func() { t.Error("a function posted to a stopped reactor ran") })
			}
			if !r.posted.empty() {
				t.Fatal("functions posted to a stopped reactor are kept in its queue")
			}
		})
	}
}
