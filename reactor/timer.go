package reactor

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/twistgo/twist/clock"
)

// Timers live in a binary min-heap ordered by (due time, scheduling
// sequence), and every timer knows its index in the heap. That gives
// O(log n) CallLater, Cancel and Reset with no tombstones, the next timeout in
// O(1) from the root, exact due times, and FIFO order for calls due at the
// same instant. A timing wheel would make insertion O(1) but rounds due
// times to its tick and needs cascading or periodic ticks, which an idle
// reactor must not do; with 100,000 pending timers the heap is 17 levels
// deep, and the benchmarks in timer_test.go measure Cancel and Reset there.

// Timer states.
const (
	timerPending uint8 = iota
	timerCalled
	timerCancelled
)

// delayedCall is the clock.DelayedCall returned by CallLater.
type delayedCall struct {
	r     *Reactor
	f     func()
	when  int64  // monotonic nanoseconds since r.epoch
	seq   uint64 // tie-breaker: scheduling order
	index int    // position in r.timers while pending
	state uint8
}

// CallLater arranges for f to run on the loop once, d from now, and returns
// the call, which can be cancelled or rescheduled. Calls due at the same time
// run in the order they were scheduled. A d of zero or less runs f on the
// next turn of the loop, never from inside CallLater.
func (r *Reactor) CallLater(d time.Duration, f func()) clock.DelayedCall {
	c := &delayedCall{r: r, f: f}
	c.when = r.dueIn(d)
	c.seq = r.nextSeq()
	r.timers.push(c)
	return c
}

// DelayedCalls returns the pending delayed calls, soonest first (Twisted's
// getDelayedCalls). It is meant for tests.
func (r *Reactor) DelayedCalls() []clock.DelayedCall {
	pending := slices.Clone(r.timers)
	slices.SortFunc(pending, func(a, b *delayedCall) int {
		return cmp.Or(cmp.Compare(a.when, b.when), cmp.Compare(a.seq, b.seq))
	})
	calls := make([]clock.DelayedCall, len(pending))
	for i, c := range pending {
		calls[i] = c
	}
	return calls
}

// dueIn returns the timer time d from now; a negative d counts as zero.
func (r *Reactor) dueIn(d time.Duration) int64 {
	return addSat(r.elapsed(), max(int64(d), 0))
}

func (r *Reactor) nextSeq() uint64 {
	r.seq++
	return r.seq
}

// runTimers runs the calls that were due when it started. Calls scheduled
// (or rescheduled) by those calls have a later sequence number and wait for
// the next turn, so that a zero delay never runs in the same pass.
func (r *Reactor) runTimers() {
	if len(r.timers) == 0 {
		return // without reading the clock
	}
	now := r.elapsed()
	limit := r.seq
	for len(r.timers) > 0 {
		c := r.timers[0]
		if c.when > now || c.seq > limit {
			return
		}
		r.timers.remove(0)
		r.stats.timersRun++
		r.stats.lag.Observe(time.Duration(now - c.when))
		c.state = timerCalled
		f := c.f
		c.f = nil
		r.safely("delayed call", f)
	}
}

// Cancel stops the call from running.
func (c *delayedCall) Cancel() error {
	if err := c.check(); err != nil {
		return err
	}
	c.r.timers.remove(c.index)
	c.state = timerCancelled
	c.f = nil
	return nil
}

// Reset reschedules the call to run d from now.
func (c *delayedCall) Reset(d time.Duration) error {
	if err := c.check(); err != nil {
		return err
	}
	c.reschedule(c.r.dueIn(d))
	return nil
}

// Delay postpones the call by d; a negative d brings it forward.
func (c *delayedCall) Delay(d time.Duration) error {
	if err := c.check(); err != nil {
		return err
	}
	c.reschedule(addSat(c.when, int64(d)))
	return nil
}

// Active reports whether the call has neither run nor been cancelled.
func (c *delayedCall) Active() bool { return c.state == timerPending }

// Time returns when the call is scheduled to run.
func (c *delayedCall) Time() time.Time { return c.r.epoch.Add(time.Duration(c.when)) }

func (c *delayedCall) check() error {
	switch c.state {
	case timerCalled:
		return clock.ErrAlreadyCalled
	case timerCancelled:
		return clock.ErrAlreadyCancelled
	}
	return nil
}

// reschedule moves a pending call to when, behind the calls already
// scheduled for the same instant.
func (c *delayedCall) reschedule(when int64) {
	c.when = when
	c.seq = c.r.nextSeq()
	c.r.timers.fix(c.index)
}

// addSat adds without overflowing: a huge delay means "never", not the past.
func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

// timerHeap is a binary min-heap of pending calls that keeps each call's
// index current, so that any call can be removed or moved in O(log n).
type timerHeap []*delayedCall

func (h timerHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	return a.when < b.when || (a.when == b.when && a.seq < b.seq)
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) push(c *delayedCall) {
	c.index = len(*h)
	*h = append(*h, c)
	h.up(c.index)
}

// remove takes the call at index i out of the heap.
func (h *timerHeap) remove(i int) {
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	if i != last {
		h.fix(i)
	}
}

// fix restores the heap order after the call at index i changed its key.
func (h timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down sifts the call at i towards the leaves and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && h.less(right, child) {
			child = right
		}
		if !h.less(child, i) {
			break
		}
		h.swap(i, child)
		i = child
	}
	return i > start
}
