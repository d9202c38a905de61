package task_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

var errTest = errors.New("test error")

const ms = time.Millisecond

// since returns how long after the epoch the clock reads.
func since(c *task.Clock) time.Duration { return c.Now().Sub(task.Epoch) }

// mustStart starts lc and fails the test on an error.
func mustStart(t *testing.T, lc *task.LoopingCall, interval time.Duration, now bool) *deferred.Deferred {
	t.Helper()
	d, err := lc.Start(interval, now)
	if err != nil {
		t.Fatalf("Start(%v, %v): %v", interval, now, err)
	}
	return d
}

// When a call itself takes longer than the interval, the runs it overlapped
// are skipped, and a run due exactly now counts as past.
func TestLoopingCallSkipsTimeSpentInCall(t *testing.T) {
	c := task.NewClock()
	var times []time.Duration
	callDuration := 2 * time.Second
	lc := task.NewLoopingCall(c, func() (any, error) {
		times = append(times, since(c))
		c.Advance(callDuration)
		return nil, nil
	})
	mustStart(t, lc, 500*ms, true)
	check := func(want ...time.Duration) {
		t.Helper()
		if !slices.Equal(times, want) {
			t.Fatalf("ran at %v, want %v", times, want)
		}
	}
	check(0)
	c.Advance(0) // 2s is the present, not the future: skipped
	check(0)
	callDuration = time.Second
	c.Advance(500 * ms)
	check(0, 2500*ms)
	c.Advance(0)
	check(0, 2500*ms)
	callDuration = 0
	c.Advance(500 * ms)
	check(0, 2500*ms, 4*time.Second)
}

// When the clock jumps past several intervals, the loop runs once and then
// keeps to its schedule.
func TestLoopingCallSkipsMissedIntervals(t *testing.T) {
	c := task.NewClock()
	var times []time.Duration
	lc := task.NewLoopingCall(c, func() (any, error) {
		times = append(times, since(c))
		return nil, nil
	})
	mustStart(t, lc, 500*ms, true)
	for _, step := range []time.Duration{2 * time.Second, time.Second, 0, 200 * ms, 300 * ms} {
		c.Advance(step)
	}
	want := []time.Duration{0, 2 * time.Second, 3 * time.Second, 3500 * ms}
	if !slices.Equal(times, want) {
		t.Fatalf("ran at %v, want %v", times, want)
	}
}

// countLog records when a counting loop ran and with which count.
type countLog struct {
	clock *task.Clock
	runs  [][2]time.Duration // (time, count)
}

func (l *countLog) record(count int) {
	l.runs = append(l.runs, [2]time.Duration{since(l.clock), time.Duration(count)})
}

func (l *countLog) counts() []int {
	var out []int
	for _, r := range l.runs {
		out = append(out, int(r[1]))
	}
	return out
}

// WithCount reports the intervals that elapsed, skipped ones included.
func TestLoopingCallWithCountCountsSkips(t *testing.T) {
	const interval, delay = 500 * ms, 10 * ms
	c := task.NewClock()
	log := &countLog{clock: c}
	lc := task.NewLoopingCallWithCount(c, func(n int) (any, error) { log.record(n); return nil, nil })
	mustStart(t, lc, interval, true)
	c.Advance(interval + delay)
	c.Advance(3*interval + delay)
	c.Advance(0)
	want := [][2]time.Duration{{0, 1}, {interval + delay, 1}, {4*interval + 2*delay, 3}}
	if !slices.Equal(log.runs, want) {
		t.Fatalf("runs %v, want %v", log.runs, want)
	}
}

// A run that comes late within its interval still counts 1: counts are whole
// intervals since the start, not time since the last run.
func TestLoopingCallWithCountLateRunCountsOne(t *testing.T) {
	const interval, delay = 500 * ms, 10 * ms
	c := task.NewClock()
	log := &countLog{clock: c}
	lc := task.NewLoopingCallWithCount(c, func(n int) (any, error) { log.record(n); return nil, nil })
	mustStart(t, lc, interval, true)
	c.Advance(interval + delay)
	c.Advance(interval * 7 / 4)
	c.Advance(interval / 4)
	want := [][2]time.Duration{{0, 1}, {interval + delay, 1}, {interval*11/4 + delay, 1}, {3*interval + delay, 1}}
	if !slices.Equal(log.runs, want) {
		t.Fatalf("runs %v, want %v", log.runs, want)
	}
}

// With an interval that does not divide a second evenly the counts still
// add up to the intervals elapsed, and none is 0.
func TestLoopingCallWithCountUnevenInterval(t *testing.T) {
	c := task.NewClock()
	log := &countLog{clock: c}
	lc := task.NewLoopingCallWithCount(c, func(n int) (any, error) { log.record(n); return nil, nil })
	const count = 3
	interval := time.Second / count
	mustStart(t, lc, interval, false)
	for range count {
		c.Advance(interval)
	}
	c.Advance(time.Second - count*interval)
	sum := 0
	for _, n := range log.counts() {
		if n <= 0 {
			t.Fatalf("counts %v include %d", log.counts(), n)
		}
		sum += n
	}
	if sum != count {
		t.Fatalf("counts %v add up to %d, want %d", log.counts(), sum, count)
	}
}

func TestLoopingCallWithCountIntervalZero(t *testing.T) {
	c := task.NewClock()
	var counts []int
	var lc *task.LoopingCall
	lc = task.NewLoopingCallWithCount(c, func(n int) (any, error) {
		counts = append(counts, n)
		if len(counts) == 5 {
			lc.Stop()
		}
		return nil, nil
	})
	done := mustStart(t, lc, 0, false)
	c.Advance(0)
	if v, err := outcome(t, done); err != nil || v != lc {
		t.Fatalf("Start's Deferred: %v, %v; want the LoopingCall", v, err)
	}
	if want := []int{1, 1, 1, 1, 1}; !slices.Equal(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
}

// With an interval of 0, time spent waiting on a Deferred does not count.
func TestLoopingCallWithCountIntervalZeroDelay(t *testing.T) {
	c := task.NewClock()
	wait := deferred.New()
	var counts []int
	var lc *task.LoopingCall
	lc = task.NewLoopingCallWithCount(c, func(n int) (any, error) {
		counts = append(counts, n)
		switch len(counts) {
		case 2:
			return wait, nil
		case 5:
			lc.Stop()
		}
		return nil, nil
	})
	mustStart(t, lc, 0, false)
	c.Advance(0)
	c.Advance(2 * time.Second)
	if want := []int{1, 1}; !slices.Equal(counts, want) {
		t.Fatalf("counts %v while waiting, want %v", counts, want)
	}
	wait.Callback(nil)
	c.Advance(0)
	if want := []int{1, 1, 1, 1, 1}; !slices.Equal(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
}

// A loop started with interval 0 remembers when it last ran, so that counts
// are right after SetInterval.
func TestLoopingCallWithCountIntervalZeroThenNonZero(t *testing.T) {
	c := task.NewClock()
	wait := deferred.New()
	var counts []int
	lc := task.NewLoopingCallWithCount(c, func(n int) (any, error) {
		counts = append(counts, n)
		if len(counts) == 2 {
			return wait, nil
		}
		return nil, nil
	})
	mustStart(t, lc, 0, false)
	c.Advance(10 * time.Second)
	if want := []int{1, 1}; !slices.Equal(counts, want) {
		t.Fatalf("counts %v while waiting, want %v", counts, want)
	}
	lc.SetInterval(2 * time.Second)
	wait.Callback(nil)
	for i, step := range []struct {
		advance time.Duration
		want    []int
	}{
		{7 * time.Second, []int{1, 1, 3}},
		{2 * time.Second, []int{1, 1, 3, 1}},
		{4 * time.Second, []int{1, 1, 3, 1, 2}},
	} {
		c.Advance(step.advance)
		if !slices.Equal(counts, step.want) {
			t.Fatalf("step %d: counts %v, want %v", i, counts, step.want)
		}
	}
}

// A counting loop whose Deferred is late gets the count of the runs it
// missed.
func TestLoopingCallWithCountDeferred(t *testing.T) {
	c := task.NewClock()
	wait := deferred.New()
	var counts []int
	lc := task.NewLoopingCallWithCount(c, func(n int) (any, error) {
		counts = append(counts, n)
		if len(counts) == 1 {
			return wait, nil
		}
		return nil, nil
	})
	mustStart(t, lc, 200*ms, false)
	c.Pump([]time.Duration{200 * ms, 400 * ms})
	if len(counts) != 1 {
		t.Fatalf("counts %v while waiting, want one", counts)
	}
	wait.Callback(nil)
	c.Pump([]time.Duration{200 * ms})
	if want := []int{1, 3}; !slices.Equal(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
}

func TestLoopingCallRunsEveryInterval(t *testing.T) {
	tests := []struct {
		now  bool
		want []time.Duration
	}{
		{true, []time.Duration{0, 150 * ms, 250 * ms}},
		{false, []time.Duration{150 * ms, 250 * ms}},
	}
	for _, tt := range tests {
		c := task.NewClock()
		var times []time.Duration
		lc := task.NewLoopingCall(c, func() (any, error) {
			times = append(times, since(c))
			return nil, nil
		})
		done := mustStart(t, lc, 100*ms, tt.now)
		c.Pump([]time.Duration{50 * ms, 100 * ms, 100 * ms})
		if !slices.Equal(times, tt.want) {
			t.Fatalf("now=%v: ran at %v, want %v", tt.now, times, tt.want)
		}
		if err := lc.Stop(); err != nil {
			t.Fatal(err)
		}
		if v, err := outcome(t, done); err != nil || v != lc {
			t.Fatalf("now=%v: Start's Deferred: %v, %v; want the LoopingCall", tt.now, v, err)
		}
		if calls := c.DelayedCalls(); len(calls) != 0 {
			t.Fatalf("now=%v: calls %v left after Stop", tt.now, calls)
		}
	}
}

func TestLoopingCallStartErrors(t *testing.T) {
	c := task.NewClock()
	lc := task.NewLoopingCall(c, func() (any, error) { return nil, nil })
	if _, err := lc.Start(-time.Second, true); !errors.Is(err, task.ErrNegativeInterval) {
		t.Fatalf("Start(-1s): %v, want ErrNegativeInterval", err)
	}
	if lc.Running() {
		t.Fatal("running after a failed Start")
	}
	mustStart(t, lc, time.Second, false)
	if _, err := lc.Start(time.Second, false); !errors.Is(err, task.ErrRunning) {
		t.Fatalf("second Start: %v, want ErrRunning", err)
	}
}

func TestLoopingCallNotRunningErrors(t *testing.T) {
	c := task.NewClock()
	lc := task.NewLoopingCall(c, func() (any, error) { return nil, nil })
	if err := lc.Stop(); !errors.Is(err, task.ErrNotRunning) {
		t.Fatalf("Stop before Start: %v, want ErrNotRunning", err)
	}
	if err := lc.Reset(); !errors.Is(err, task.ErrNotRunning) {
		t.Fatalf("Reset before Start: %v, want ErrNotRunning", err)
	}
	mustStart(t, lc, time.Second, false)
	lc.Stop()
	if err := lc.Stop(); !errors.Is(err, task.ErrNotRunning) {
		t.Fatalf("second Stop: %v, want ErrNotRunning", err)
	}
}

// Stop before the first run leaves nothing scheduled and nothing run.
func TestLoopingCallStopBeforeFirstRun(t *testing.T) {
	for _, interval := range []time.Duration{0, 10 * time.Second} {
		c := task.NewClock()
		ran := false
		lc := task.NewLoopingCall(c, func() (any, error) { ran = true; return nil, nil })
		mustStart(t, lc, interval, false)
		lc.Stop()
		c.Advance(time.Minute)
		if ran || len(c.DelayedCalls()) != 0 {
			t.Fatalf("interval %v: ran %v, pending %v", interval, ran, c.DelayedCalls())
		}
	}
}

func TestLoopingCallReset(t *testing.T) {
	c := task.NewClock()
	var times []time.Duration
	lc := task.NewLoopingCall(c, func() (any, error) {
		times = append(times, since(c))
		return nil, nil
	})
	mustStart(t, lc, 2*time.Second, false)
	c.Advance(time.Second)
	if err := lc.Reset(); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if len(times) != 0 {
		t.Fatalf("ran at %v before the reset interval was over", times)
	}
	c.Advance(time.Second)
	c.Advance(2 * time.Second)
	if want := []time.Duration{3 * time.Second, 5 * time.Second}; !slices.Equal(times, want) {
		t.Fatalf("ran at %v, want %v", times, want)
	}
}

func TestLoopingCallFailureStopsLoop(t *testing.T) {
	tests := map[string]func(lc **task.LoopingCall) func() (any, error){
		"error": func(**task.LoopingCall) func() (any, error) {
			return func() (any, error) { return nil, errTest }
		},
		"stop then error": func(lc **task.LoopingCall) func() (any, error) {
			return func() (any, error) { (*lc).Stop(); return nil, errTest }
		},
		"panic": func(**task.LoopingCall) func() (any, error) {
			return func() (any, error) { panic(errTest) }
		},
		"failed Deferred": func(**task.LoopingCall) func() (any, error) {
			return func() (any, error) { return deferred.Fail(errTest), nil }
		},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			c := task.NewClock()
			var lc *task.LoopingCall
			lc = task.NewLoopingCall(c, f(&lc))
			done := mustStart(t, lc, 100*ms, true)
			if _, err := outcome(t, done); !errors.Is(err, errTest) {
				t.Fatalf("Start's Deferred failed with %v, want %v", err, errTest)
			}
			if lc.Running() || len(c.DelayedCalls()) != 0 {
				t.Fatalf("after the failure: running %v, pending %v", lc.Running(), c.DelayedCalls())
			}
		})
	}
}

func TestLoopingCallPanicIsPanicError(t *testing.T) {
	c := task.NewClock()
	lc := task.NewLoopingCall(c, func() (any, error) { panic("boom") })
	_, err := outcome(t, mustStart(t, lc, time.Second, true))
	var pe *deferred.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("failure %v, want a PanicError of boom", err)
	}
}

// With interval 0 the loop runs on every turn of the loop until stopped.
func TestLoopingCallIntervalZeroRunsEveryTurn(t *testing.T) {
	c := task.NewClock()
	runs := 0
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(c, func() (any, error) {
		runs++
		if runs == 6 {
			lc.Stop()
		}
		return nil, nil
	})
	done := mustStart(t, lc, 0, true)
	if runs != 1 {
		t.Fatalf("%d runs inside Start, want 1", runs)
	}
	c.Advance(0)
	if _, err := outcome(t, done); err != nil || runs != 6 {
		t.Fatalf("runs %d, result %v; want 6, success", runs, err)
	}
}

// The next run waits for the function's Deferred, and Stop while it is
// pending fires Start's Deferred when it fires.
func TestLoopingCallWaitsForDeferred(t *testing.T) {
	c := task.NewClock()
	var pending []*deferred.Deferred
	lc := task.NewLoopingCall(c, func() (any, error) {
		d := deferred.New()
		pending = append(pending, d)
		return d, nil
	})
	done := mustStart(t, lc, 200*ms, true)
	c.Advance(time.Second)
	if len(pending) != 1 {
		t.Fatalf("%d runs while the first Deferred was pending, want 1", len(pending))
	}
	pending[0].Callback(nil)
	c.Advance(200 * ms)
	if len(pending) != 2 {
		t.Fatalf("%d runs after it fired, want 2", len(pending))
	}
	lc.Stop()
	if done.Called() || lc.Running() {
		t.Fatal("Stop finished the loop while the function's Deferred was pending")
	}
	pending[1].Callback(nil)
	if v, err := outcome(t, done); err != nil || v != lc {
		t.Fatalf("Start's Deferred: %v, %v; want the LoopingCall", v, err)
	}
	if len(c.DelayedCalls()) != 0 {
		t.Fatalf("calls left: %v", c.DelayedCalls())
	}
}

// A function that stops the loop from its Deferred's callback leaves nothing
// scheduled (Twisted's testWaitDeferred).
func TestLoopingCallStopFromDeferredCallback(t *testing.T) {
	c := task.NewClock()
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(c, func() (any, error) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) { return nil, lc.Stop() })
		c.CallLater(time.Second, func() { d.Callback(nil) })
		return d, nil
	})
	done := mustStart(t, lc, 200*ms, true)
	c.Pump([]time.Duration{200 * ms, 800 * ms})
	if len(c.DelayedCalls()) != 0 {
		t.Fatalf("calls left: %v", c.DelayedCalls())
	}
	if _, err := outcome(t, done); err != nil {
		t.Fatal(err)
	}
}

// A failure of the function's Deferred fails the loop, and nothing is left
// scheduled (Twisted's testFailurePropagation).
func TestLoopingCallDeferredFailure(t *testing.T) {
	c := task.NewClock()
	lc := task.NewLoopingCall(c, func() (any, error) {
		d := deferred.New()
		c.CallLater(300*ms, func() { d.Errback(errTest) })
		return d, nil
	})
	done := mustStart(t, lc, time.Second, true)
	c.Pump([]time.Duration{300 * ms})
	if _, err := outcome(t, done); !errors.Is(err, errTest) {
		t.Fatalf("Start's Deferred: %v, want %v", err, errTest)
	}
	if len(c.DelayedCalls()) != 0 {
		t.Fatalf("calls left: %v", c.DelayedCalls())
	}
}

// Running is already false when Start's Deferred fires, and the loop can be
// started again, with a new interval.
func TestLoopingCallRestart(t *testing.T) {
	c := task.NewClock()
	var times []time.Duration
	lc := task.NewLoopingCall(c, func() (any, error) {
		times = append(times, since(c))
		return nil, nil
	})
	done := mustStart(t, lc, time.Second, false)
	var runningWhenDone bool
	done.AddCallback(func(any) (any, error) { runningWhenDone = lc.Running(); return nil, nil })
	c.Advance(time.Second)
	lc.Stop()
	if runningWhenDone {
		t.Fatal("Running() true when Start's Deferred fired")
	}
	mustStart(t, lc, 3*time.Second, false)
	if lc.Interval() != 3*time.Second || !lc.Running() {
		t.Fatalf("restarted: interval %v, running %v", lc.Interval(), lc.Running())
	}
	c.Advance(3 * time.Second)
	if want := []time.Duration{time.Second, 4 * time.Second}; !slices.Equal(times, want) {
		t.Fatalf("ran at %v, want %v", times, want)
	}
}

// Reset while the function's Deferred is pending does nothing: there is no
// scheduled run to move.
func TestLoopingCallResetWhileWaiting(t *testing.T) {
	c := task.NewClock()
	wait := deferred.New()
	runs := 0
	lc := task.NewLoopingCall(c, func() (any, error) {
		runs++
		if runs == 1 {
			return wait, nil
		}
		return nil, nil
	})
	mustStart(t, lc, time.Second, true)
	c.Advance(500 * ms)
	if err := lc.Reset(); err != nil {
		t.Fatal(err)
	}
	wait.Callback(nil)
	c.Advance(500 * ms)
	if runs != 2 {
		t.Fatalf("%d runs at 1s, want 2: the schedule keeps to the start time", runs)
	}
}

// Start after a Stop that came while the function's Deferred was pending is
// refused until that Deferred fires: the first run is not over, and starting
// anew would lose the Deferred of the first Start, which fires only when the
// run ends, and would run the function twice at once, each run then
// scheduling its own next run. Once it has fired, Start works.
func TestLoopingCallStartWhileStoppedRunIsPending(t *testing.T) {
	c := task.NewClock()
	var pending []*deferred.Deferred
	lc := task.NewLoopingCall(c, func() (any, error) {
		d := deferred.New()
		pending = append(pending, d)
		return d, nil
	})
	first := mustStart(t, lc, time.Second, true)
	lc.Stop()
	if _, err := lc.Start(time.Second, true); !errors.Is(err, task.ErrRunning) {
		t.Fatalf("Start while the stopped run is pending = %v, want ErrRunning", err)
	}
	if len(pending) != 1 {
		t.Fatalf("%d runs, want 1: the function ran again while its Deferred was pending", len(pending))
	}
	pending[0].Callback(nil)
	if v, err := outcome(t, first); err != nil || v != lc {
		t.Fatalf("first Start's Deferred: %v, %v; want the LoopingCall", v, err)
	}
	mustStart(t, lc, time.Second, false)
	if n := len(c.DelayedCalls()); n != 1 {
		t.Fatalf("%d runs scheduled after the restart, want 1", n)
	}
}
