package task

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/twistgo/twist/clock"
)

// Epoch is the time a Clock from NewClock starts at: the Unix epoch, so that
// Seconds starts at 0 as Twisted's task.Clock does and test output is stable.
var Epoch = time.Unix(0, 0).UTC()

// Clock is a fake clock.Clock for tests (Twisted's task.Clock): time stands
// still until Advance moves it, and Advance runs the calls that fall due, on
// the caller's goroutine. Nothing about it depends on real time.
//
// Unlike the reactor, a Clock is not safe for concurrent use: drive it, and
// the code under test, from one goroutine.
type Clock struct {
	now time.Time
	// calls are the pending calls; sorted by (when, seq) before each use.
	calls []*fakeCall
	// seq numbers calls in the order they were scheduled, so that calls due
	// at the same time run first come, first served.
	seq uint64
}

// NewClock returns a Clock set to Epoch, with no pending calls.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time { return c.now }

// Seconds returns the current time as Twisted's float seconds since the Unix
// epoch: 0 for a new Clock.
func (c *Clock) Seconds() float64 { return clock.Seconds(c.now) }

// CallLater schedules f to run once the clock has advanced by d. A d of zero
// or less makes f due at once: it runs in the next Advance, even Advance(0).
func (c *Clock) CallLater(d time.Duration, f func()) clock.DelayedCall {
	call := &fakeCall{clock: c, f: f}
	c.schedule(call, c.now.Add(d))
	c.calls = append(c.calls, call)
	return call
}

// schedule sets when call is due and makes it the latest-scheduled call for
// that time.
func (c *Clock) schedule(call *fakeCall, when time.Time) {
	c.seq++
	call.when, call.seq = when, c.seq
}

// Advance moves the clock forward by d and runs every call that is due, in
// order of due time, calls due at the same time in the order they were
// scheduled. A call scheduled by one of them that is due by the new time
// runs in this same Advance, as in Twisted. Advance may be called from a
// running call; it panics if d is negative, as time never runs backwards.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("task: Clock.Advance(%v): negative duration", d))
	}
	c.now = c.now.Add(d)
	for {
		c.sort()
		if len(c.calls) == 0 || c.calls[0].when.After(c.now) {
			return
		}
		call := c.calls[0]
		c.calls = slices.Delete(c.calls, 0, 1)
		// Mark the call as run first, so that it sees ErrAlreadyCalled if it
		// cancels itself.
		call.called = true
		call.f()
	}
}

// Pump advances the clock by each of durations in turn (Twisted's pump).
func (c *Clock) Pump(durations []time.Duration) {
	for _, d := range durations {
		c.Advance(d)
	}
}

// DelayedCalls returns the pending calls, soonest first (Twisted's
// getDelayedCalls). The slice is the caller's.
func (c *Clock) DelayedCalls() []clock.DelayedCall {
	c.sort()
	out := make([]clock.DelayedCall, len(c.calls))
	for i, call := range c.calls {
		out[i] = call
	}
	return out
}

func (c *Clock) sort() {
	slices.SortFunc(c.calls, func(a, b *fakeCall) int {
		if c := a.when.Compare(b.when); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

func (c *Clock) remove(call *fakeCall) {
	if i := slices.Index(c.calls, call); i >= 0 {
		c.calls = slices.Delete(c.calls, i, i+1)
	}
}

// fakeCall is a call scheduled on a Clock.
type fakeCall struct {
	clock     *Clock
	f         func()
	when      time.Time
	seq       uint64
	called    bool
	cancelled bool
}

// check returns the error for changing a call that is no longer pending.
func (fc *fakeCall) check() error {
	switch {
	case fc.called:
		return clock.ErrAlreadyCalled
	case fc.cancelled:
		return clock.ErrAlreadyCancelled
	}
	return nil
}

func (fc *fakeCall) Cancel() error {
	if err := fc.check(); err != nil {
		return err
	}
	fc.cancelled = true
	fc.clock.remove(fc)
	return nil
}

func (fc *fakeCall) Reset(d time.Duration) error {
	if err := fc.check(); err != nil {
		return err
	}
	fc.clock.schedule(fc, fc.clock.now.Add(d))
	return nil
}

func (fc *fakeCall) Delay(d time.Duration) error {
	if err := fc.check(); err != nil {
		return err
	}
	fc.clock.schedule(fc, fc.when.Add(d))
	return nil
}

func (fc *fakeCall) Active() bool { return !fc.called && !fc.cancelled }

func (fc *fakeCall) Time() time.Time { return fc.when }

// String describes the call for test failure messages.
func (fc *fakeCall) String() string {
	state := "pending"
	switch {
	case fc.called:
		state = "called"
	case fc.cancelled:
		state = "cancelled"
	}
	return fmt.Sprintf("<DelayedCall at %v %s>", fc.when.Sub(Epoch), state)
}
