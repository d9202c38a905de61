package deferred

import (
	"errors"
	"testing"
)

// Behaviours of Twisted's test_defer.py that the other tests do not pin
// down, one test each.

// A callback that returns a *Failure as its value, not as its error, puts
// the chain on the errback path, as returning a Failure does in Twisted.
func TestCallbackReturningAFailureValueSwitchesToErrbacks(t *testing.T) {
	boom := errors.New("boom")
	d := New()
	d.AddCallback(func(any) (any, error) { return newFailure(boom, 1), nil })
	skipped := true
	d.AddCallback(func(any) (any, error) { skipped = false; return nil, nil })
	var got error
	d.AddErrback(func(f *Failure) (any, error) { got = f; return "recovered", nil })
	d.Callback(1)
	if !skipped || !errors.Is(got, boom) {
		t.Fatalf("callback skipped %v, errback got %v", skipped, got)
	}
	if v, err := d.Result(); v != "recovered" || err != nil {
		t.Fatalf("result %v, %v", v, err)
	}
}

// Firing a Deferred again from one of its own callbacks is an
// AlreadyCalled failure of that callback, not a second result.
func TestFiringFromItsOwnCallbackIsAlreadyCalled(t *testing.T) {
	for _, fire := range []func(d *Deferred){
		func(d *Deferred) { d.Callback(2) },
		func(d *Deferred) { d.Errback(errors.New("again")) },
	} {
		d := New()
		d.AddCallback(func(v any) (any, error) { fire(d); return v, nil })
		d.Callback(1)
		_, err := d.Result()
		d.AddErrback(func(*Failure) (any, error) { return nil, nil })
		if !errors.Is(err, ErrAlreadyCalled) {
			t.Errorf("result %v, want ErrAlreadyCalled", err)
		}
	}
}

// Cancelling a Deferred that another was chained to with Chain fails it
// alone; the source firing later is ignored, not an AlreadyCalled panic.
// Cancelling the source passes its CancelledError on to the chained one.
func TestCancelThroughChain(t *testing.T) {
	src, dst := New(), New()
	src.Chain(dst)
	dst.Cancel()
	if _, err := dst.Result(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("chained Deferred: %v, want ErrCancelled", err)
	}
	dst.AddErrback(func(*Failure) (any, error) { return nil, nil })
	src.Callback(1)
	if v, err := src.Result(); v != nil || err != nil {
		t.Fatalf("source: %v, %v", v, err)
	}

	src, dst = New(), New()
	src.Chain(dst)
	src.Cancel()
	if _, err := dst.Result(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("after cancelling the source: %v, want ErrCancelled", err)
	}
	dst.AddErrback(func(*Failure) (any, error) { return nil, nil })
	if pendingFailure(src) != nil {
		t.Fatal("the source still holds the failure it passed on")
	}
}

// FireOnOneCallback with ConsumeErrors fires with the first success, and a
// member that failed before it is left without its failure: nothing is
// reported for it.
func TestListFireOnOneCallbackConsumeErrors(t *testing.T) {
	a, b := New(), New()
	l := List([]*Deferred{a, b}, FireOnOneCallback, ConsumeErrors)
	a.Errback(errors.New("a failed"))
	if l.Called() {
		t.Fatal("fired on a failure")
	}
	b.Callback("b")
	v, err := l.Result()
	if r, ok := v.(FirstResult); err != nil || !ok || r.Value != "b" || r.Index != 1 {
		t.Fatalf("result %#v, %v", v, err)
	}
	if pendingFailure(a) != nil {
		t.Fatal("a consumed failure would be reported as unhandled")
	}
}

// Twisted reports a failure exactly once: a member of a List keeps its
// failure, to be reported, unless the List consumes errors; the List itself,
// whose result holds the failure as a value, reports nothing.
func TestUnhandledFailureOfAListMember(t *testing.T) {
	for _, consume := range []bool{false, true} {
		var opts []ListOption
		if consume {
			opts = append(opts, ConsumeErrors)
		}
		m := New()
		l := List([]*Deferred{m}, opts...)
		m.Errback(errors.New("member failed"))
		if got := pendingFailure(m) != nil; got == consume {
			t.Errorf("consume %v: member holds its failure: %v", consume, got)
		}
		if pendingFailure(l) != nil {
			t.Errorf("consume %v: the List would be reported", consume)
		}
		m.AddErrback(func(*Failure) (any, error) { return nil, nil })
	}
}

// Gather with ConsumeErrors fails with the first failure, and that failure
// is reported once, through the Gather's Deferred, not through its member.
func TestGatherConsumeErrors(t *testing.T) {
	boom := errors.New("boom")
	m, other := New(), New()
	g := Gather([]*Deferred{m, other}, ConsumeErrors)
	m.Errback(boom)
	_, err := g.Result()
	var fe *FirstError
	if !errors.As(err, &fe) || fe.Index != 0 || !errors.Is(err, boom) {
		t.Fatalf("result %v", err)
	}
	if pendingFailure(m) != nil {
		t.Error("the member would be reported too")
	}
	if pendingFailure(g) == nil {
		t.Error("the Gather's unhandled failure would not be reported")
	}
	g.AddErrback(func(*Failure) (any, error) { return nil, nil })
	other.Callback(nil)
}

// An Inline function that returns a *Failure as its value fails its
// Deferred, as returning a Failure from inlineCallbacks does.
func TestInlineReturningAFailureValue(t *testing.T) {
	boom := errors.New("boom")
	d := Inline(func(*Co) (any, error) { return newFailure(boom, 1), nil })
	_, err := d.Result()
	d.AddErrback(func(*Failure) (any, error) { return nil, nil })
	if !errors.Is(err, boom) {
		t.Fatalf("result %v, want boom", err)
	}
}

// Callbacks added to a paused Deferred from inside its own callbacks wait
// for Unpause, and then run in order.
func TestCallbacksAddedWhilePausedInsideACallback(t *testing.T) {
	d := New()
	var order []int
	d.AddCallback(func(v any) (any, error) {
		d.Pause()
		d.AddCallback(func(v any) (any, error) { order = append(order, 2); return v, nil })
		order = append(order, 1)
		return v, nil
	})
	d.Callback(0)
	// As in Twisted, pausing inside a callback stops the chain only once
	// the callbacks already queued have run: the one added runs now.
	if len(order) != 2 {
		t.Fatalf("order %v", order)
	}
	d.AddCallback(func(v any) (any, error) { order = append(order, 3); return v, nil })
	if len(order) != 2 {
		t.Fatalf("a callback added while paused ran: %v", order)
	}
	d.Unpause()
	if len(order) != 3 || order[2] != 3 {
		t.Fatalf("order after Unpause %v", order)
	}
}
