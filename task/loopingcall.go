package task

import (
	"errors"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
)

var (
	// ErrRunning is returned by LoopingCall.Start when the loop is running,
	// or when it was stopped while the function or its Deferred was running
	// and that run is not over yet.
	ErrRunning = errors.New("task: LoopingCall is already running")
	// ErrNotRunning is returned by LoopingCall.Stop and Reset when the loop
	// is not running.
	ErrNotRunning = errors.New("task: LoopingCall is not running")
	// ErrNegativeInterval is returned by LoopingCall.Start for an interval
	// below zero.
	ErrNegativeInterval = errors.New("task: LoopingCall interval must be >= 0")
)

// LoopingCall calls a function repeatedly on a clock (Twisted's
// LoopingCall). The function returns (value, error) like a Deferred
// callback: an error, or a panic, stops the loop and fails the Deferred
// returned by Start; a *deferred.Deferred value holds the next call back
// until it fires, and a failure of it stops the loop the same way; any other
// value is ignored.
//
// Calls stay aligned to the start time: with interval i started at t, the
// function runs at t+i, t+2i, ... and when a call comes too late for some of
// those times (the loop was busy, or the function's Deferred took longer than
// an interval), the missed times are skipped rather than run in a burst. A
// LoopingCall from NewLoopingCallWithCount tells its function how many
// times were due.
//
// A LoopingCall belongs to its clock's loop: use it from that loop only.
type LoopingCall struct {
	clk clock.Clock
	f   func() (any, error)
	// call is the scheduled next run, nil while the function (or the
	// Deferred it returned) runs and while the loop is stopped.
	call     clock.DelayedCall
	done     *deferred.Deferred
	running  bool
	interval time.Duration
	start    time.Time
	// runAtStart records Start's now, which makes the first run of a
	// counting loop count one interval.
	runAtStart bool
}

// NewLoopingCall returns a stopped LoopingCall that runs f on clk, which is
// usually the reactor, or a *Clock in tests.
func NewLoopingCall(clk clock.Clock, f func() (any, error)) *LoopingCall {
	return &LoopingCall{clk: clk, f: f}
}

// NewLoopingCallWithCount returns a stopped LoopingCall that runs f on clk
// with the number of intervals that have elapsed since f last ran (or since
// the loop started): normally 1, more when runs were skipped because the
// loop or f's Deferred was late (Twisted's LoopingCall.withCount). A count
// is a whole number of intervals: a run that comes late within its interval
// still counts 1. With an interval of 0 the count is always 1.
func NewLoopingCallWithCount(clk clock.Clock, f func(count int) (any, error)) *LoopingCall {
	lc := &LoopingCall{clk: clk}
	var (
		last time.Time // when f last ran,
		ran  bool      // if it has
	)
	lc.f = func() (any, error) {
		now := lc.clk.Now()
		if lc.interval == 0 {
			last, ran = now, true
			return f(1)
		}
		from := last
		if !ran {
			from = lc.start
			if lc.runAtStart {
				from = from.Add(-lc.interval)
			}
		}
		count := lc.intervalOf(now) - lc.intervalOf(from)
		if count <= 0 {
			// Still in the interval of the last run: nothing is due.
			return nil, nil
		}
		last, ran = now, true
		return f(count)
	}
	return lc
}

// intervalOf returns how many whole intervals separate the start from t.
func (lc *LoopingCall) intervalOf(t time.Time) int {
	return int(t.Sub(lc.start) / lc.interval)
}

// Start runs the function every interval, the first time at once if now is
// true and after one interval otherwise. An interval of 0 runs it on every
// turn of the loop. The returned Deferred fires with the LoopingCall when
// Stop stops the loop, or fails with the function's error. Start returns
// ErrNegativeInterval if interval < 0, and ErrRunning if the loop is running
// or if its last run is not over: after a Stop while the function or its
// Deferred was running, start again from the callback of the Deferred the
// last Start returned.
func (lc *LoopingCall) Start(interval time.Duration, now bool) (*deferred.Deferred, error) {
	// lc.done is set until the Deferred from the last Start fires: a new
	// one would replace it, and a second run would go along with the first.
	if lc.running || lc.done != nil {
		return nil, ErrRunning
	}
	if interval < 0 {
		return nil, ErrNegativeInterval
	}
	lc.running = true
	// The first run may fail and clear lc.done, so keep a reference.
	done := deferred.New()
	lc.done = done
	lc.start = lc.clk.Now()
	lc.interval = interval
	lc.runAtStart = now
	if now {
		lc.run()
	} else {
		lc.scheduleFrom(lc.start)
	}
	return done, nil
}

// Stop stops the loop: the function does not run again, and the Deferred
// from Start fires with the LoopingCall, at once or, if the function is
// running or its Deferred has not fired, when that is over. Stop returns
// ErrNotRunning if the loop is not running.
func (lc *LoopingCall) Stop() error {
	if !lc.running {
		return ErrNotRunning
	}
	lc.running = false
	if lc.call != nil {
		lc.call.Cancel()
		lc.call = nil
		lc.finish(lc)
	}
	return nil
}

// Reset skips the next run and restarts the intervals from now: the next run
// is one interval away. While the function or its Deferred is running, Reset
// does nothing. It returns ErrNotRunning if the loop is not running.
func (lc *LoopingCall) Reset() error {
	if !lc.running {
		return ErrNotRunning
	}
	if lc.call != nil {
		lc.call.Cancel()
		lc.start = lc.clk.Now()
		lc.scheduleFrom(lc.start)
	}
	return nil
}

// Running reports whether the loop is running: from Start until Stop, or
// until the function fails. It is false by the time the Deferred from Start
// fires.
func (lc *LoopingCall) Running() bool { return lc.running }

// Interval returns the interval of the last Start, or of SetInterval.
func (lc *LoopingCall) Interval() time.Duration { return lc.interval }

// SetInterval changes the interval of a running loop from the next
// scheduling on (the run already scheduled keeps its time). Runs stay
// aligned to the start time in multiples of the new interval.
func (lc *LoopingCall) SetInterval(interval time.Duration) { lc.interval = interval }

// run calls the function once and, when it is done, schedules the next run
// or finishes the loop.
func (lc *LoopingCall) run() {
	lc.call = nil
	d := deferred.Succeed(nil)
	// Running f as a callback turns its error, panic or Deferred into the
	// chain's, as Twisted's maybeDeferred does.
	d.AddCallback(func(any) (any, error) { return lc.f() })
	d.AddCallbacks(func(any) (any, error) {
		if lc.running {
			lc.scheduleFrom(lc.clk.Now())
		} else {
			lc.finish(lc)
		}
		return nil, nil
	}, func(f *deferred.Failure) (any, error) {
		lc.running = false
		lc.finish(f)
		return nil, nil
	})
}

// finish fires the Deferred from Start with result (a *Failure fails it).
func (lc *LoopingCall) finish(result any) {
	d := lc.done
	lc.done = nil
	d.Callback(result)
}

// scheduleFrom schedules the next run at the first multiple of the interval,
// counted from the start, that lies after when.
func (lc *LoopingCall) scheduleFrom(when time.Time) {
	var wait time.Duration
	if lc.interval > 0 {
		wait = lc.interval - when.Sub(lc.start)%lc.interval
	}
	lc.call = lc.clk.CallLater(wait, lc.run)
}
