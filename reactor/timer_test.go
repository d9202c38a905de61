package reactor

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twistgo/twist/clock"
)

// The tests in this file port Twisted's test_time.py and the TimeTestCase
// of test_internet.py.

var _ clock.Clock = (*Reactor)(nil)

func TestCallLaterOrder(t *testing.T) {
	r, _ := newReactor(t)
	var got []int
	for n := range 10 {
		r.CallLater(0, func() { got = append(got, n) })
	}
	// Calls due at the same instant run in scheduling order too.
	r.CallLater(0, func() {
		for n := 10; n < 20; n++ {
			r.CallLater(0, func() { got = append(got, n) })
		}
		r.CallLater(0, func() { stop(t, r) })
	})
	run(t, r)
	want := make([]int, 20)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Fatalf("calls ran in order %v, want %v", got, want)
	}
}

func TestCallLaterNeverSynchronous(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.CallWhenRunning(func() {
		r.CallLater(0, func() { events = append(events, "zero") })
		r.CallLater(-time.Hour, func() { events = append(events, "negative") })
		events = append(events, "scheduled")
		r.CallLater(0, func() { stop(t, r) })
	})
	run(t, r)
	if want := []string{"scheduled", "zero", "negative"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

// TestCallScheduledDuringCallbackRunsLater checks that a zero-delay call
// scheduled by a timer runs after the timers that were already due.
func TestCallScheduledDuringCallbackRunsLater(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.CallLater(0, func() {
		events = append(events, "a")
		r.CallLater(0, func() {
			events = append(events, "c")
			stop(t, r)
		})
	})
	r.CallLater(0, func() { events = append(events, "b") })
	run(t, r)
	if want := []string{"a", "b", "c"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

// TestZeroDelayLoopDoesNotStarve checks that a call rescheduling itself with
// no delay lets the loop's other work (here a posted Stop) proceed.
func TestZeroDelayLoopDoesNotStarve(t *testing.T) {
	r, _ := newReactor(t)
	n := 0
	var again func()
	again = func() {
		n++
		r.CallLater(0, again)
	}
	r.CallWhenRunning(func() {
		again()
		r.CallFromThread(func() { stop(t, r) })
	})
	run(t, r)
	if n == 0 {
		t.Fatal("the rescheduling call never ran")
	}
}

func TestDelayedCallErrors(t *testing.T) {
	tests := []struct {
		name string
		op   func(c clock.DelayedCall) error
	}{
		{"Cancel", func(c clock.DelayedCall) error { return c.Cancel() }},
		{"Reset", func(c clock.DelayedCall) error { return c.Reset(time.Second) }},
		{"Delay", func(c clock.DelayedCall) error { return c.Delay(time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newReactor(t)
			cancelled := r.CallLater(time.Hour, func() { t.Error("cancelled call ran") })
			if !cancelled.Active() {
				t.Fatal("a new call is not active")
			}
			if err := cancelled.Cancel(); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			if cancelled.Active() {
				t.Fatal("a cancelled call is active")
			}
			if err := tt.op(cancelled); !errors.Is(err, clock.ErrAlreadyCancelled) {
				t.Errorf("%s of a cancelled call = %v, want ErrAlreadyCancelled", tt.name, err)
			}
			var called clock.DelayedCall
			var errInCall error
			called = r.CallLater(0, func() {
				// Twisted's test_cancelCalledDelayedCallSynchronous.
				errInCall = tt.op(called)
				r.CallLater(0, func() { stop(t, r) })
			})
			run(t, r)
			if !errors.Is(errInCall, clock.ErrAlreadyCalled) {
				t.Errorf("%s from inside the call = %v, want ErrAlreadyCalled", tt.name, errInCall)
			}
			if err := tt.op(called); !errors.Is(err, clock.ErrAlreadyCalled) {
				t.Errorf("%s of a called call = %v, want ErrAlreadyCalled", tt.name, err)
			}
			if called.Active() {
				t.Error("a called call is active")
			}
		})
	}
}

func TestCancelledCallDoesNotRun(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	c := r.CallLater(0, func() { events = append(events, "cancelled") })
	r.CallLater(0, func() { events = append(events, "kept") })
	r.CallWhenRunning(func() {
		// Cancel from a callback, before the timers run.
		if err := c.Cancel(); err != nil {
			t.Errorf("Cancel: %v", err)
		}
		r.CallLater(0, func() { stop(t, r) })
	})
	run(t, r)
	if want := []string{"kept"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestResetAndDelayReorder(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	late := r.CallLater(time.Hour, func() { events = append(events, "reset") })
	later := r.CallLater(2*time.Hour, func() { events = append(events, "delayed") })
	soon := r.CallLater(0, func() { events = append(events, "postponed") })
	r.CallWhenRunning(func() {
		if err := late.Reset(0); err != nil {
			t.Errorf("Reset: %v", err)
		}
		if err := later.Delay(-3 * time.Hour); err != nil {
			t.Errorf("Delay: %v", err)
		}
		if err := soon.Delay(time.Hour); err != nil {
			t.Errorf("Delay: %v", err)
		}
		r.CallLater(0, func() { stop(t, r) })
	})
	run(t, r)
	if want := []string{"delayed", "reset"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestDelayedCallTime(t *testing.T) {
	r, _ := newReactor(t)
	before := r.Now()
	c := r.CallLater(time.Minute, func() {})
	after := r.Now()
	if got := c.Time(); got.Before(before.Add(time.Minute)) || got.After(after.Add(time.Minute)) {
		t.Fatalf("Time() = %v, want between %v and %v", got, before.Add(time.Minute), after.Add(time.Minute))
	}
	old := c.Time()
	if err := c.Delay(time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := c.Time().Sub(old); got != time.Hour {
		t.Fatalf("Delay(1h) moved Time by %v", got)
	}
	before = r.Now()
	if err := c.Reset(time.Second); err != nil {
		t.Fatal(err)
	}
	after = r.Now()
	if got := c.Time(); got.Before(before.Add(time.Second)) || got.After(after.Add(time.Second)) {
		t.Fatalf("after Reset, Time() = %v, want between %v and %v", got, before.Add(time.Second), after.Add(time.Second))
	}
}

func TestSeconds(t *testing.T) {
	r, _ := newReactor(t)
	before := float64(time.Now().UnixNano()) / 1e9
	s := r.Seconds()
	after := float64(time.Now().UnixNano()) / 1e9
	if s < before || s > after {
		t.Fatalf("Seconds() = %f, want between %f and %f", s, before, after)
	}
}

func TestDelayedCalls(t *testing.T) {
	r, _ := newReactor(t)
	c3 := r.CallLater(3*time.Hour, func() {})
	c1 := r.CallLater(time.Hour, func() {})
	cancelled := r.CallLater(2*time.Hour, func() {})
	c1b := r.CallLater(time.Hour, func() {})
	if err := cancelled.Cancel(); err != nil {
		t.Fatal(err)
	}
	got := r.DelayedCalls()
	want := []clock.DelayedCall{c1, c1b, c3}
	if len(got) != len(want) {
		t.Fatalf("DelayedCalls() has %d calls, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("DelayedCalls()[%d] is not the expected call", i)
		}
	}
}

func TestHugeDelay(t *testing.T) {
	r, _ := newReactor(t)
	c := r.CallLater(time.Duration(1<<63-1), func() { t.Error("ran") })
	if err := c.Delay(time.Hour); err != nil {
		t.Fatal(err)
	}
	r.CallLater(0, func() { stop(t, r) })
	run(t, r)
	if !c.Active() {
		t.Fatal("a call due in 292 years is not pending")
	}
}

// TestTimerHeapModel applies random schedules, cancels, resets and delays
// and checks the heap against a sorted model.
func TestTimerHeapModel(t *testing.T) {
	r, _ := newReactor(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var live []*delayedCall
	for range 20000 {
		switch op := rng.IntN(4); {
		case op == 0 || len(live) == 0:
			d := time.Duration(rng.IntN(1000)) * time.Hour
			live = append(live, r.CallLater(d, func() {}).(*delayedCall))
		case op == 1:
			i := rng.IntN(len(live))
			if err := live[i].Cancel(); err != nil {
				t.Fatal(err)
			}
			live = slices.Delete(live, i, i+1)
		case op == 2:
			if err := live[rng.IntN(len(live))].Reset(time.Duration(rng.IntN(1000)) * time.Hour); err != nil {
				t.Fatal(err)
			}
		default:
			if err := live[rng.IntN(len(live))].Delay(time.Duration(rng.IntN(100)-50) * time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, c := range r.timers {
		if c.index != i {
			t.Fatalf("timer at %d has index %d", i, c.index)
		}
		if i > 0 && r.timers.less(i, (i-1)/2) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	slices.SortFunc(live, func(a, b *delayedCall) int {
		return cmp.Or(cmp.Compare(a.when, b.when), cmp.Compare(a.seq, b.seq))
	})
	got := r.DelayedCalls()
	if len(got) != len(live) {
		t.Fatalf("%d pending calls, want %d", len(got), len(live))
	}
	for i := range live {
		if got[i] != live[i] {
			t.Fatalf("pending call %d differs from the model", i)
		}
	}
	for len(r.timers) > 0 {
		want := r.timers[0]
		r.timers.remove(0)
		if len(r.timers) > 0 && r.timers[0].when < want.when {
			t.Fatal("heap popped out of order")
		}
	}
}
