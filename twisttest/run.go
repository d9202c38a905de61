package twisttest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// DefaultRunTimeout is how long Run waits for its Deferred by default.
const DefaultRunTimeout = 10 * time.Second

// A RunOption configures Run.
type RunOption func(*runConfig)

type runConfig struct {
	timeout time.Duration
}

// WithRunTimeout sets how long Run waits for the Deferred before it cancels
// it and fails the test; the default is DefaultRunTimeout.
func WithRunTimeout(d time.Duration) RunOption {
	return func(c *runConfig) { c.timeout = d }
}

// Run runs f on a new real reactor, on the test's goroutine, until the
// Deferred f returns fires, and returns its value: what trial does for a test
// method that returns a Deferred. A nil Deferred counts as fired with nil.
//
// The test fails with t.Fatalf, and Run returns nil, if the Deferred fails
// (the message holds the failure's traceback), or if it has not fired within
// the time-out (see WithRunTimeout), in which case it is cancelled first.
// Once the Deferred has fired, the loop gets one more turn for the callbacks
// already due, and the test then fails with t.Errorf if timers are pending or
// descriptors are still watched (trial's DirtyReactorError): a test must stop
// its ports, close its connections and cancel its calls before its Deferred
// fires. Run cancels those timers and closes those descriptors, so that one
// unclean test does not leak into the next.
func Run(t testing.TB, f func(r *reactor.Reactor) *deferred.Deferred, opts ...RunOption) any {
	t.Helper()
	cfg := runConfig{timeout: DefaultRunTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	r, err := reactor.New()
	if err != nil {
		t.Fatalf("twisttest.Run: %v", err)
		return nil
	}
	var (
		value    any
		failure  *deferred.Failure
		timedOut bool
		dirty    []string
		done     bool
	)
	var timer clock.DelayedCall
	retried := false
	// check looks for leftovers, letting the calls that fell due in the
	// turn the Deferred fired, after check was scheduled, run first.
	var check func()
	check = func() {
		if !retried && dueCalls(r) {
			retried = true
			r.CallLater(0, check)
			return
		}
		dirty = cleanUp(r)
		_ = r.Stop()
	}
	// finish runs once: on the turn after the Deferred fired (or the
	// time-out gave up on it) it looks for what the test left behind.
	finish := func() {
		if done {
			return
		}
		done = true
		if timer != nil {
			_ = timer.Cancel()
		}
		r.CallLater(0, check)
	}
	r.CallWhenRunning(func() {
		// Maybe turns a panic in f into a failure.
		d := deferred.Maybe(func() (any, error) {
			if d := f(r); d != nil {
				return d, nil
			}
			return nil, nil
		})
		timer = r.CallLater(cfg.timeout, func() {
			timer = nil
			timedOut = true
			d.Cancel()
			finish() // in case cancelling could not make d fire
		})
		d.AddBoth(func(res any) (any, error) {
			if fl, ok := res.(*deferred.Failure); ok {
				failure = fl
			} else {
				value = res
			}
			finish()
			return nil, nil
		})
	})
	if err := r.Run(); err != nil {
		t.Fatalf("twisttest.Run: reactor: %v", err)
		return nil
	}
	if len(dirty) > 0 {
		t.Errorf("twisttest.Run: reactor was unclean when the Deferred fired:\n\t%s", strings.Join(dirty, "\n\t"))
	}
	switch {
	case timedOut:
		t.Fatalf("twisttest.Run: the Deferred did not fire within %v", cfg.timeout)
		return nil
	case failure != nil:
		t.Fatalf("twisttest.Run: the Deferred failed: %s", failure.Traceback())
		return nil
	}
	return value
}

// cleanUp cancels r's pending timers and closes its watched descriptors,
// and describes each.
func cleanUp(r *reactor.Reactor) []string {
	var dirty []string
	for _, c := range r.DelayedCalls() {
		dirty = append(dirty, fmt.Sprintf("pending delayed call due in %v", c.Time().Sub(r.Now()).Round(time.Millisecond)))
		_ = c.Cancel()
	}
	for _, fd := range r.RemoveAll() {
		dirty = append(dirty, fmt.Sprintf("watched descriptor %d (%T)", fd.Fd(), fd))
		fd.ConnectionLost(reactor.ErrConnectionLost)
	}
	return dirty
}

// dueCalls reports whether r has a pending call that is due now.
func dueCalls(r *reactor.Reactor) bool {
	calls := r.DelayedCalls()
	return len(calls) > 0 && !calls[0].Time().After(r.Now())
}
