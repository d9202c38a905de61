package task_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

func TestDeferLaterFiresWithResult(t *testing.T) {
	c := task.NewClock()
	calls := 0
	d := task.DeferLater(c, 3*time.Second, func() (any, error) {
		calls++
		return "flag", nil
	})
	c.Advance(2 * time.Second)
	if calls != 0 || d.Called() {
		t.Fatalf("after 2s: %d calls, fired %v; want neither", calls, d.Called())
	}
	c.Advance(time.Second)
	if v, err := outcome(t, d); calls != 1 || err != nil || v != "flag" {
		t.Fatalf("after 3s: %d calls, result %v, %v; want 1, flag", calls, v, err)
	}
}

func TestDeferLaterFailure(t *testing.T) {
	tests := map[string]func() (any, error){
		"error":           func() (any, error) { return nil, errTest },
		"panic":           func() (any, error) { panic(errTest) },
		"failed Deferred": func() (any, error) { return deferred.Fail(errTest), nil },
	}
	for name, f := range tests {
		c := task.NewClock()
		d := task.DeferLater(c, time.Second, f)
		c.Advance(time.Second)
		if _, err := outcome(t, d); !errors.Is(err, errTest) {
			t.Errorf("%s: failed with %v, want %v", name, err, errTest)
		}
	}
}

func TestDeferLaterWaitsForDeferred(t *testing.T) {
	c := task.NewClock()
	inner := deferred.New()
	d := task.DeferLater(c, time.Second, func() (any, error) { return inner, nil })
	c.Advance(time.Second)
	if _, err := d.Result(); err != nil || d.Paused() == 0 {
		t.Fatalf("not waiting on the inner Deferred: %v", d)
	}
	inner.Callback(42)
	if v, err := outcome(t, d); err != nil || v != 42 {
		t.Fatalf("result %v, %v; want 42", v, err)
	}
}

func TestDeferLaterNilFunction(t *testing.T) {
	c := task.NewClock()
	d := task.DeferLater(c, 2*time.Second, nil)
	if d.Called() {
		t.Fatal("fired before the delay")
	}
	c.Advance(2 * time.Second)
	if v, err := outcome(t, d); err != nil || v != nil {
		t.Fatalf("result %v, %v; want nil", v, err)
	}
}

// Cancelling the Deferred cancels the call: the function never runs and
// nothing is left scheduled.
func TestDeferLaterCancel(t *testing.T) {
	c := task.NewClock()
	ran := false
	d := task.DeferLater(c, time.Second, func() (any, error) { ran = true; return nil, nil })
	d.Cancel()
	if _, err := outcome(t, d); !errors.Is(err, deferred.ErrCancelled) {
		t.Fatalf("cancelled: %v, want ErrCancelled", err)
	}
	if calls := c.DelayedCalls(); len(calls) != 0 {
		t.Fatalf("calls left: %v", calls)
	}
	c.Advance(time.Second)
	if ran {
		t.Fatal("the function ran after Cancel")
	}
}
