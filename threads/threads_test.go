package threads

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// fakeLoop is a loop whose goroutine is the test's own: posted functions
// wait until the test runs them with runOne, which sets onLoop meanwhile.
// onLoop is touched by the test goroutine only, so code that reads it
// elsewhere sees false, and the race detector objects.
type fakeLoop struct {
	posted chan func()
	onLoop bool
}

func newFakeLoop() *fakeLoop { return &fakeLoop{posted: make(chan func(), 100)} }

func (l *fakeLoop) CallFromThread(f func()) { l.posted <- f }

// runOne waits for a posted function and runs it as the loop would.
func (l *fakeLoop) runOne() {
	f := <-l.posted
	l.onLoop = true
	defer func() { l.onLoop = false }()
	f()
}

// outcome records the result a Deferred fired with and whether its
// callbacks ran on the loop.
type outcome struct {
	fired  bool
	value  any
	err    error
	onLoop bool
}

func watch(l *fakeLoop, d *deferred.Deferred) *outcome {
	o := &outcome{}
	d.AddBoth(func(r any) (any, error) {
		o.fired, o.onLoop = true, l.onLoop
		if f, ok := r.(*deferred.Failure); ok {
			o.err = f
		} else {
			o.value = r
		}
		return nil, nil
	})
	return o
}

var errBoom = errors.New("boom")

func TestDeferToThreadFiresOnLoop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       func() (any, error)
		value   any
		wantErr error
	}{
		{"value", func() (any, error) { return 3 + 4, nil }, 7, nil},
		{"nil value", func() (any, error) { return nil, nil }, nil, nil},
		{"error", func() (any, error) { return nil, errBoom }, nil, errBoom},
		{"Goexit", func() (any, error) { runtime.Goexit(); return nil, nil }, nil, errGoexit},
		{"Deferred result", func() (any, error) { return deferred.New(), nil }, nil, errDeferredResult},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFakeLoop()
			p := NewPool(0, 1)
			defer p.Stop()
			o := watch(l, DeferToThreadPool(l, p, tc.f))
			if o.fired {
				t.Fatal("the Deferred fired before the loop ran the result")
			}
			l.runOne()
			switch {
			case !o.fired:
				t.Fatal("the Deferred did not fire")
			case !o.onLoop:
				t.Error("the Deferred fired off the loop")
			case !errors.Is(o.err, tc.wantErr) || tc.wantErr == nil && o.err != nil:
				t.Errorf("error = %v, want %v", o.err, tc.wantErr)
			case o.value != tc.value:
				t.Errorf("value = %v, want %v", o.value, tc.value)
			}
		})
	}
}

func TestDeferToThreadPanicFailsWithPanicError(t *testing.T) {
	l := newFakeLoop()
	p := NewPool(0, 1)
	defer p.Stop()
	o := watch(l, DeferToThreadPool(l, p, panicky))
	l.runOne()
	var pe *deferred.PanicError
	if !errors.As(o.err, &pe) || pe.Value != "kaboom" {
		t.Fatalf("error = %v, want a PanicError with value kaboom", o.err)
	}
	var f *deferred.Failure
	if errors.As(o.err, &f); !strings.Contains(f.Traceback(), "threads.panicky") {
		t.Errorf("traceback does not show where f panicked:\n%s", f.Traceback())
	}
}

func panicky() (any, error) { panic("kaboom") }

func TestDeferToThreadRefusedWorkFailsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		pool func() *Pool
		want error
	}{
		{"stopped", func() *Pool { p := NewPool(0, 1); p.Stop(); return p }, ErrStopped},
		{"queue full", func() *Pool { p := NewPool(0, 0); p.SetQueueLimit(0); return p }, ErrQueueFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFakeLoop()
			p := tc.pool()
			o := watch(l, DeferToThreadPool(l, p, func() (any, error) {
				t.Error("ran")
				return nil, nil
			}))
			if !o.fired || !errors.Is(o.err, tc.want) {
				t.Errorf("fired %v with %v, want %v at once", o.fired, o.err, tc.want)
			}
			p.Stop()
		})
	}
}

// A DeferToThread started from the callback of another fails properly
// (Twisted's test_deferredFailureAfterSuccess).
func TestDeferToThreadFailureAfterSuccess(t *testing.T) {
	l := newFakeLoop()
	p := NewPool(0, 2)
	defer p.Stop()
	d := DeferToThreadPool(l, p, func() (any, error) { return nil, nil })
	d.AddCallback(func(any) (any, error) {
		return DeferToThreadPool(l, p, func() (any, error) { return nil, errBoom }), nil
	})
	o := watch(l, d)
	l.runOne()
	if o.fired {
		t.Fatal("fired before the second function's result came back")
	}
	l.runOne()
	if !o.fired || !o.onLoop || !errors.Is(o.err, errBoom) {
		t.Errorf("got %+v, want errBoom on the loop", o)
	}
}

func TestDeferToThreadUsesDefaultPool(t *testing.T) {
	l := newFakeLoop()
	o := watch(l, DeferToThread(l, func() (any, error) { return "done", nil }))
	l.runOne()
	if o.value != "done" || !o.onLoop {
		t.Errorf("got %+v, want done on the loop", o)
	}
}

func TestDeferToThreadRunsConcurrently(t *testing.T) {
	l := newFakeLoop()
	p := NewPool(0, 3)
	defer p.Stop()
	b := newBlocker()
	var outcomes []*outcome
	for i := range 3 {
		job := b.job()
		outcomes = append(outcomes, watch(l, DeferToThreadPool(l, p, func() (any, error) {
			job()
			return i, nil
		})))
	}
	b.waitStarted(3) // all three block at once: none waits for another
	b.release()
	for range 3 {
		l.runOne()
	}
	var got []int
	for _, o := range outcomes {
		got = append(got, o.value.(int))
	}
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("values %v, want [0 1 2]", got)
	}
}

// blockingCall runs BlockingCallFromThread(l, f) on a goroutine of its own
// and returns a channel that yields its result.
func blockingCall(l Loop, f func() (any, error)) <-chan outcome {
	res := make(chan outcome, 1)
	go func() {
		v, err := BlockingCallFromThread(l, f)
		res <- outcome{fired: true, value: v, err: err}
	}()
	return res
}

func TestBlockingCallFromThread(t *testing.T) {
	for _, tc := range []struct {
		name string
		// f gets the loop, to post functions that fire Deferreds later
		f       func(l *fakeLoop) (any, error)
		turns   int // loop turns until the result is known
		value   any
		wantErr error
	}{
		{"value", func(*fakeLoop) (any, error) { return "foo", nil }, 1, "foo", nil},
		{"error", func(*fakeLoop) (any, error) { return nil, errBoom }, 1, nil, errBoom},
		{"succeeded Deferred", func(*fakeLoop) (any, error) { return deferred.Succeed("foo"), nil }, 1, "foo", nil},
		{"failed Deferred", func(*fakeLoop) (any, error) { return deferred.Fail(errBoom), nil }, 1, nil, errBoom},
		{"Deferred fired later", func(l *fakeLoop) (any, error) {
			d := deferred.New()
			l.CallFromThread(func() { d.Callback("egg") })
			return d, nil
		}, 2, "egg", nil},
		{"Deferred failed later", func(l *fakeLoop) (any, error) {
			d := deferred.New()
			l.CallFromThread(func() { d.Errback(errBoom) })
			return d, nil
		}, 2, nil, errBoom},
		{"error with Deferred", func(*fakeLoop) (any, error) { return deferred.New(), errBoom }, 1, nil, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFakeLoop()
			ranOnLoop := false
			res := blockingCall(l, func() (any, error) {
				ranOnLoop = l.onLoop
				return tc.f(l)
			})
			for range tc.turns - 1 {
				l.runOne()
				select {
				case <-res:
					t.Fatal("BlockingCallFromThread returned before the Deferred fired")
				default:
				}
			}
			l.runOne()
			o := <-res
			if !ranOnLoop {
				t.Error("f did not run on the loop")
			}
			if !errors.Is(o.err, tc.wantErr) || tc.wantErr == nil && o.err != nil {
				t.Errorf("error = %v, want %v", o.err, tc.wantErr)
			}
			if o.value != tc.value {
				t.Errorf("value = %v, want %v", o.value, tc.value)
			}
		})
	}
}

// A panic in f stays on the loop, which goes on, and comes back to the
// caller as an error.
func TestBlockingCallFromThreadPanicReturnsError(t *testing.T) {
	l := newFakeLoop()
	res := blockingCall(l, panicky)
	l.runOne() // would panic here if the panic escaped into the loop
	o := <-res
	var pe *deferred.PanicError
	if !errors.As(o.err, &pe) || pe.Value != "kaboom" {
		t.Fatalf("error = %v, want a PanicError with value kaboom", o.err)
	}
	next := blockingCall(l, func() (any, error) { return "after", nil })
	l.runOne()
	if o := <-next; o.value != "after" {
		t.Errorf("the loop's next call returned %v", o.value)
	}
}

// A worker of a pool asks the loop for something and waits for it, the
// typical use of BlockingCallFromThread.
func TestBlockingCallFromThreadFromWorker(t *testing.T) {
	l := newFakeLoop()
	p := NewPool(0, 1)
	defer p.Stop()
	state := 41 // the loop's, touched on the loop only
	o := watch(l, DeferToThreadPool(l, p, func() (any, error) {
		return BlockingCallFromThread(l, func() (any, error) {
			state++
			return state, nil
		})
	}))
	l.runOne() // the worker's request
	l.runOne() // the worker's result
	if o.value != 42 || !o.onLoop {
		t.Errorf("got %+v, want 42 on the loop", o)
	}
}

func TestStopDeferredFiresOnLoopOnceWorkIsDone(t *testing.T) {
	l := newFakeLoop()
	p := NewPool(0, 1)
	b := newBlocker()
	mustCall(t, p, b.job())
	b.waitStarted(1)
	o := watch(l, p.StopDeferred(l))
	if o.fired {
		t.Fatal("fired while work was running")
	}
	b.release()
	l.runOne()
	if !o.fired || !o.onLoop || o.err != nil {
		t.Errorf("got %+v, want nil on the loop", o)
	}
	if b.running.Load() != 0 {
		t.Error("fired before the running function returned")
	}
}
