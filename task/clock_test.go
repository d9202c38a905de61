package task_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

var _ clock.Clock = (*task.Clock)(nil)

// outcome returns the result d has fired with, handling a failure, and fails
// the test if d has not fired.
func outcome(t *testing.T, d *deferred.Deferred) (any, error) {
	t.Helper()
	var (
		value any
		err   error
		fired bool
	)
	d.AddBoth(func(r any) (any, error) {
		fired = true
		if f, ok := r.(*deferred.Failure); ok {
			err = f
		} else {
			value = r
		}
		return nil, nil
	})
	if !fired {
		t.Fatal("the Deferred has not fired")
	}
	return value, err
}

// at returns the time d after the fake clock's epoch.
func at(d time.Duration) time.Time { return task.Epoch.Add(d) }

func TestClockStartsAtEpoch(t *testing.T) {
	c := task.NewClock()
	if !c.Now().Equal(time.Unix(0, 0)) || c.Seconds() != 0 {
		t.Fatalf("new Clock at %v (%v s), want the Unix epoch", c.Now(), c.Seconds())
	}
	c.Advance(1500 * time.Millisecond)
	if c.Seconds() != 1.5 {
		t.Fatalf("Seconds() = %v after 1.5 s, want 1.5", c.Seconds())
	}
}

func TestClockCallLaterIsPending(t *testing.T) {
	c := task.NewClock()
	call := c.CallLater(time.Second, func() {})
	if !call.Active() || !call.Time().Equal(at(time.Second)) {
		t.Fatalf("call: active %v at %v, want active at 1s", call.Active(), call.Time())
	}
	if other := c.CallLater(time.Second, func() {}); other == call {
		t.Fatal("CallLater returned the same DelayedCall twice")
	}
}

func TestClockAdvanceRunsDueCalls(t *testing.T) {
	c := task.NewClock()
	ran := 0
	call := c.CallLater(2*time.Second, func() { ran++ })
	c.Advance(time.Second)
	if ran != 0 {
		t.Fatal("call ran before it was due")
	}
	c.Advance(time.Second)
	if ran != 1 || call.Active() {
		t.Fatalf("after 2s: ran %d times, active %v; want once, inactive", ran, call.Active())
	}
	c.Advance(time.Hour)
	if ran != 1 {
		t.Fatalf("call ran %d times, want once", ran)
	}
}

func TestClockCancel(t *testing.T) {
	c := task.NewClock()
	ran := false
	call := c.CallLater(time.Second, func() { ran = true })
	if err := call.Cancel(); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if ran || call.Active() || len(c.DelayedCalls()) != 0 {
		t.Fatalf("cancelled call: ran %v, active %v, pending %v", ran, call.Active(), c.DelayedCalls())
	}
}

// A call that is no longer pending refuses to be changed, and says why.
func TestClockDelayedCallErrors(t *testing.T) {
	c := task.NewClock()
	cancelled := c.CallLater(time.Second, func() {})
	cancelled.Cancel()
	called := c.CallLater(time.Second, func() {})
	c.Advance(time.Second)
	ops := map[string]func(clock.DelayedCall) error{
		"Cancel": clock.DelayedCall.Cancel,
		"Reset":  func(dc clock.DelayedCall) error { return dc.Reset(time.Second) },
		"Delay":  func(dc clock.DelayedCall) error { return dc.Delay(time.Second) },
	}
	for name, op := range ops {
		if err := op(cancelled); !errors.Is(err, clock.ErrAlreadyCancelled) {
			t.Errorf("%s of a cancelled call: %v, want ErrAlreadyCancelled", name, err)
		}
		if err := op(called); !errors.Is(err, clock.ErrAlreadyCalled) {
			t.Errorf("%s of a called call: %v, want ErrAlreadyCalled", name, err)
		}
	}
}

// A call counts as run by the time it runs, so cancelling itself fails with
// ErrAlreadyCalled.
func TestClockCancelInsideCall(t *testing.T) {
	c := task.NewClock()
	var err error
	var call clock.DelayedCall
	call = c.CallLater(time.Second, func() { err = call.Cancel() })
	c.Advance(time.Second)
	if !errors.Is(err, clock.ErrAlreadyCalled) {
		t.Fatalf("Cancel inside the call: %v, want ErrAlreadyCalled", err)
	}
}

func TestClockReschedule(t *testing.T) {
	tests := []struct {
		name       string
		change     func(clock.DelayedCall) error
		wantTime   time.Duration
		notYet, by time.Duration // clock times at which it has not run and has
	}{
		{"delay", func(dc clock.DelayedCall) error { return dc.Delay(time.Second) }, 2 * time.Second, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{"reset later", func(dc clock.DelayedCall) error { return dc.Reset(3 * time.Second) }, 3 * time.Second, 2 * time.Second, 3 * time.Second},
		{"reset sooner", func(dc clock.DelayedCall) error { return dc.Reset(500 * time.Millisecond) }, 500 * time.Millisecond, 0, 500 * time.Millisecond},
		{"negative delay", func(dc clock.DelayedCall) error { return dc.Delay(-time.Second) }, 0, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := task.NewClock()
			ran := false
			call := c.CallLater(time.Second, func() { ran = true })
			if err := tt.change(call); err != nil {
				t.Fatal(err)
			}
			if !call.Time().Equal(at(tt.wantTime)) {
				t.Fatalf("Time() = %v, want %v", call.Time().Sub(task.Epoch), tt.wantTime)
			}
			if tt.notYet >= 0 {
				c.Advance(tt.notYet)
				if ran {
					t.Fatalf("ran at %v", tt.notYet)
				}
			}
			c.Advance(tt.by - c.Now().Sub(task.Epoch))
			if !ran {
				t.Fatalf("did not run by %v", tt.by)
			}
		})
	}
}

// Reset measures from the clock's current time, not the original schedule.
func TestClockResetCountsFromNow(t *testing.T) {
	c := task.NewClock()
	call := c.CallLater(2*time.Second, func() {})
	c.Advance(time.Second)
	call.Reset(3 * time.Second)
	if !call.Time().Equal(at(4 * time.Second)) {
		t.Fatalf("Time() = %v, want 4s", call.Time().Sub(task.Epoch))
	}
}

func TestClockDelayedCallsSortedByTime(t *testing.T) {
	c := task.NewClock()
	if calls := c.DelayedCalls(); len(calls) != 0 {
		t.Fatalf("new Clock has calls %v", calls)
	}
	late := c.CallLater(3*time.Second, func() {})
	early := c.CallLater(time.Second, func() {})
	middle := c.CallLater(2*time.Second, func() {})
	want := []clock.DelayedCall{early, middle, late}
	if got := c.DelayedCalls(); !slices.Equal(got, want) {
		t.Fatalf("DelayedCalls() = %v, want %v", got, want)
	}
	late.Reset(0)
	want = []clock.DelayedCall{late, early, middle}
	if got := c.DelayedCalls(); !slices.Equal(got, want) {
		t.Fatalf("after Reset: DelayedCalls() = %v, want %v", got, want)
	}
}

// Calls run in order of time however they were scheduled and rescheduled
// (Twisted's test_callLater*KeepsCallsOrdered).
func TestClockKeepsCallsOrdered(t *testing.T) {
	type logged struct {
		name string
		at   time.Duration
	}
	tests := []struct {
		name  string
		setup func(c *task.Clock, log func(string) func())
		step  time.Duration
		steps int
		want  []logged
	}{
		{
			name: "reset before scheduling another",
			setup: func(c *task.Clock, log func(string) func()) {
				a := c.CallLater(time.Second, log("a"))
				a.Reset(3 * time.Second)
				c.CallLater(2*time.Second, log("b"))
			},
			step: time.Second, steps: 3,
			want: []logged{{"b", 2 * time.Second}, {"a", 3 * time.Second}},
		},
		{
			name: "reset after scheduling another",
			setup: func(c *task.Clock, log func(string) func()) {
				a := c.CallLater(time.Second, log("a"))
				c.CallLater(2*time.Second, log("b"))
				a.Reset(3 * time.Second)
			},
			step: time.Second, steps: 3,
			want: []logged{{"b", 2 * time.Second}, {"a", 3 * time.Second}},
		},
		{
			name: "reset inside a call",
			setup: func(c *task.Clock, log func(string) func()) {
				b := c.CallLater(2*time.Second, log("b"))
				c.CallLater(time.Second, func() { b.Reset(3 * time.Second) })
				c.CallLater(3*time.Second, log("c"))
			},
			step: 500 * time.Millisecond, steps: 10,
			want: []logged{{"c", 3 * time.Second}, {"b", 4 * time.Second}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := task.NewClock()
			var got []logged
			tt.setup(c, func(name string) func() {
				return func() { got = append(got, logged{name, c.Now().Sub(task.Epoch)}) }
			})
			c.Pump(slices.Repeat([]time.Duration{tt.step}, tt.steps))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ran %v, want %v", got, tt.want)
			}
		})
	}
}

// Calls due at the same time run in the order they were scheduled, or last
// rescheduled.
func TestClockSameTimeFirstComeFirstServed(t *testing.T) {
	c := task.NewClock()
	var got []string
	log := func(s string) func() { return func() { got = append(got, s) } }
	a := c.CallLater(time.Second, log("a"))
	c.CallLater(time.Second, log("b"))
	c.CallLater(time.Second, log("c"))
	a.Reset(time.Second)
	c.Advance(time.Second)
	if want := []string{"b", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
}

// During Advance the clock reads the new time, and a call scheduled by a
// running call runs in the same Advance if it is due by then, as in Twisted.
func TestClockRunsCallsScheduledDuringAdvance(t *testing.T) {
	c := task.NewClock()
	var got []string
	var seen time.Time
	c.CallLater(time.Second, func() {
		seen = c.Now()
		got = append(got, "first")
		c.CallLater(0, func() { got = append(got, "now") })
		c.CallLater(time.Second, func() { got = append(got, "later") })
	})
	c.Advance(2 * time.Second)
	if want := []string{"first", "now"}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if !seen.Equal(at(2 * time.Second)) {
		t.Fatalf("the call saw the time %v, want 2s", seen.Sub(task.Epoch))
	}
	if calls := c.DelayedCalls(); len(calls) != 1 || !calls[0].Time().Equal(at(3*time.Second)) {
		t.Fatalf("pending %v, want one call at 3s", calls)
	}
}

// CallLater with a delay of zero or less never runs f at once, and Advance(0)
// runs it.
func TestClockZeroDelayRunsOnAdvanceZero(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		c := task.NewClock()
		ran := false
		c.CallLater(d, func() { ran = true })
		if ran {
			t.Fatalf("CallLater(%v) ran f at once", d)
		}
		c.Advance(0)
		if !ran {
			t.Fatalf("CallLater(%v) did not run on Advance(0)", d)
		}
	}
}

// A call may advance the clock itself: the calls that fall due run inside
// that Advance, and the outer Advance goes on from the new time.
func TestClockNestedAdvance(t *testing.T) {
	c := task.NewClock()
	var got []time.Duration
	log := func() { got = append(got, c.Now().Sub(task.Epoch)) }
	c.CallLater(time.Second, func() {
		log()
		c.Advance(2 * time.Second)
	})
	c.CallLater(2*time.Second, log)
	c.CallLater(4*time.Second, log)
	c.Advance(time.Second)
	want := []time.Duration{time.Second, 3 * time.Second}
	if !slices.Equal(got, want) || !c.Now().Equal(at(3*time.Second)) {
		t.Fatalf("ran at %v, clock at %v; want %v, 3s", got, c.Now().Sub(task.Epoch), want)
	}
}

func TestClockAdvanceNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Advance(-1s) did not panic")
		}
	}()
	task.NewClock().Advance(-time.Second)
}

func TestClockPump(t *testing.T) {
	c := task.NewClock()
	var got []time.Duration
	for _, d := range []time.Duration{1, 2, 3} {
		c.CallLater(d*time.Second, func() { got = append(got, c.Now().Sub(task.Epoch)) })
	}
	c.Pump([]time.Duration{1500 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second})
	want := []time.Duration{1500 * time.Millisecond, 2 * time.Second, 4 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("ran at %v, want %v", got, want)
	}
}
