package deferred_test

import (
	"slices"
	"time"

	"github.com/twistgo/twist/clock"
)

// manualClock is a clock.Clock whose time moves only when Advance is called.
// Package deferred's tests cannot use task's fake clock (task imports
// deferred), so this is the least that AddTimeout needs.
type manualClock struct {
	now   time.Time
	calls []*manualCall
}

type manualCall struct {
	c         *manualClock
	when      time.Time
	f         func()
	called    bool
	cancelled bool
}

var _ clock.Clock = (*manualClock)(nil)

func newManualClock() *manualClock { return &manualClock{now: time.Unix(0, 0)} }

func (c *manualClock) Now() time.Time { return c.now }

func (c *manualClock) CallLater(d time.Duration, f func()) clock.DelayedCall {
	dc := &manualCall{c: c, when: c.now.Add(d), f: f}
	c.calls = append(c.calls, dc)
	return dc
}

// Advance moves time forward by d and runs the calls that are then due, in
// order of their time.
func (c *manualClock) Advance(d time.Duration) {
	c.now = c.now.Add(d)
	for {
		due := -1
		for i, dc := range c.calls {
			if !dc.when.After(c.now) && (due < 0 || dc.when.Before(c.calls[due].when)) {
				due = i
			}
		}
		if due < 0 {
			return
		}
		dc := c.calls[due]
		c.calls = slices.Delete(c.calls, due, due+1)
		dc.called = true
		dc.f()
	}
}

// Pending reports how many calls are still scheduled.
func (c *manualClock) Pending() int { return len(c.calls) }

func (dc *manualCall) check() error {
	switch {
	case dc.called:
		return clock.ErrAlreadyCalled
	case dc.cancelled:
		return clock.ErrAlreadyCancelled
	}
	return nil
}

func (dc *manualCall) Cancel() error {
	if err := dc.check(); err != nil {
		return err
	}
	dc.cancelled = true
	dc.c.calls = slices.DeleteFunc(dc.c.calls, func(o *manualCall) bool { return o == dc })
	return nil
}

func (dc *manualCall) Reset(d time.Duration) error {
	if err := dc.check(); err != nil {
		return err
	}
	dc.when = dc.c.now.Add(d)
	return nil
}

func (dc *manualCall) Delay(d time.Duration) error {
	if err := dc.check(); err != nil {
		return err
	}
	dc.when = dc.when.Add(d)
	return nil
}

func (dc *manualCall) Active() bool    { return !dc.called && !dc.cancelled }
func (dc *manualCall) Time() time.Time { return dc.when }
