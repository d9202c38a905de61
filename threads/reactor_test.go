package threads

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// runReactor makes a reactor, arranges for start to run on its loop once it
// runs, and runs it on the test goroutine until start's work stops it.
func runReactor(t testing.TB, start func(r *reactor.Reactor)) {
	t.Helper()
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	r.CallWhenRunning(func() { start(r) })
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestDeferToThreadOnReactor(t *testing.T) {
	var loopID, workerID, callbackID string
	var result any
	runReactor(t, func(r *reactor.Reactor) {
		loopID = goid()
		DeferToThread(r, func() (any, error) {
			workerID = goid()
			return 6 * 7, nil
		}).AddBoth(func(v any) (any, error) {
			callbackID, result = goid(), v
			r.Stop()
			return nil, nil
		})
	})
	if result != 42 {
		t.Errorf("result = %v, want 42", result)
	}
	if callbackID != loopID {
		t.Errorf("callback ran on goroutine %s, the loop is %s", callbackID, loopID)
	}
	if workerID == loopID {
		t.Error("the function ran on the loop")
	}
}

// Twisted's test_asyncBlockingCallFromThread and its error twin: a worker
// waits for a Deferred that the loop fires on a later turn; then a panic on
// the loop comes back as an error and the loop keeps serving.
func TestBlockingCallFromThreadOnReactor(t *testing.T) {
	type answer struct {
		v   any
		err error
	}
	var answers []answer
	runReactor(t, func(r *reactor.Reactor) {
		later := func(fire func(d *deferred.Deferred)) func() (any, error) {
			return func() (any, error) {
				d := deferred.New()
				r.CallLater(0, func() { fire(d) })
				return d, nil
			}
		}
		err := CallInThread(func() {
			for _, f := range []func() (any, error){
				later(func(d *deferred.Deferred) { d.Callback("egg") }),
				later(func(d *deferred.Deferred) { d.Errback(errBoom) }),
				panicky,
				func() (any, error) { return "still serving", nil },
			} {
				v, err := BlockingCallFromThread(r, f)
				answers = append(answers, answer{v, err})
			}
			r.Stop()
		})
		if err != nil {
			t.Error(err)
			r.Stop()
		}
	})
	if len(answers) != 4 {
		t.Fatalf("got %d answers, want 4", len(answers))
	}
	if a := answers[0]; a.v != "egg" || a.err != nil {
		t.Errorf("Deferred fired later: got %v, %v", a.v, a.err)
	}
	if a := answers[1]; a.v != nil || !errors.Is(a.err, errBoom) {
		t.Errorf("Deferred failed later: got %v, %v", a.v, a.err)
	}
	var pe *deferred.PanicError
	if a := answers[2]; !errors.As(a.err, &pe) {
		t.Errorf("panic: got %v, %v", a.v, a.err)
	}
	if a := answers[3]; a.v != "still serving" {
		t.Errorf("after the panic: got %v, %v", a.v, a.err)
	}
}

// A pool stopped by a "before shutdown" trigger holds the reactor's
// shutdown until its work is done.
func TestStopDeferredHoldsReactorShutdown(t *testing.T) {
	p := NewPool(0, 2)
	var finished atomic.Bool
	gate := make(chan struct{})
	runReactor(t, func(r *reactor.Reactor) {
		r.AddSystemEventTrigger(reactor.Before, "shutdown", func() *deferred.Deferred {
			d := p.StopDeferred(r)
			close(gate) // the work ends only once the pool is stopping
			return d
		})
		DeferToThreadPool(r, p, func() (any, error) {
			<-gate
			finished.Store(true)
			return nil, nil
		})
		r.Stop()
	})
	if !finished.Load() {
		t.Error("Run returned before the pool's work finished")
	}
	if err := p.CallInThread(func() {}); !errors.Is(err, ErrStopped) {
		t.Errorf("after shutdown: CallInThread = %v, want ErrStopped", err)
	}
}

// BenchmarkDeferToThreadRoundTrip measures one DeferToThread from the loop
// to a worker and back, the calls one after the other.
func BenchmarkDeferToThreadRoundTrip(b *testing.B) {
	p := NewPool(1, 1)
	defer p.Stop()
	work := func() (any, error) { return nil, nil }
	runReactor(b, func(r *reactor.Reactor) {
		n := 0
		var next func(any) (any, error)
		next = func(any) (any, error) {
			if n == b.N {
				b.StopTimer()
				r.Stop()
				return nil, nil
			}
			n++
			DeferToThreadPool(r, p, work).AddCallback(next)
			return nil, nil
		}
		b.ResetTimer()
		next(nil)
	})
}

// TestBlockingCallFromThreadLoopStops checks that a caller whose call the
// reactor will never finish, because it stopped first, gets ErrLoopStopped
// rather than waiting for ever, and that a call the loop finished just
// before it stopped still returns its result.
func TestBlockingCallFromThreadLoopStops(t *testing.T) {
	ran := func(t *testing.T) func() (any, error) {
		return func() (any, error) {
			t.Error("f ran on a reactor that had stopped")
			return nil, nil
		}
	}
	for _, tc := range []struct {
		name string
		// call makes r and returns the outcome of a BlockingCallFromThread
		// on it, made while r stops or after.
		call      func(t *testing.T, r *reactor.Reactor) outcome
		wantValue any
		wantErr   error
	}{
		{"after Run returned", func(t *testing.T, r *reactor.Reactor) outcome {
			r.CallWhenRunning(func() { r.Stop() })
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			return <-blockingCall(r, ran(t))
		}, nil, ErrLoopStopped},
		{"after Close", func(t *testing.T, r *reactor.Reactor) outcome {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			return <-blockingCall(r, ran(t))
		}, nil, ErrLoopStopped},
		{"Deferred pending when the loop stops", func(t *testing.T, r *reactor.Reactor) outcome {
			var res <-chan outcome
			r.CallWhenRunning(func() {
				res = blockingCall(r, func() (any, error) {
					r.Stop()
					return deferred.New(), nil
				})
			})
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			return <-res
		}, nil, ErrLoopStopped},
		{"value delivered as the loop stops", func(t *testing.T, r *reactor.Reactor) outcome {
			var res <-chan outcome
			r.CallWhenRunning(func() {
				res = blockingCall(r, func() (any, error) {
					r.Stop()
					return "last", nil
				})
			})
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			return <-res
		}, "last", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := reactor.New()
			if err != nil {
				t.Fatal(err)
			}
			o := tc.call(t, r)
			if o.value != tc.wantValue || !errors.Is(o.err, tc.wantErr) || tc.wantErr == nil && o.err != nil {
				t.Errorf("got (%v, %v), want (%v, %v)", o.value, o.err, tc.wantValue, tc.wantErr)
			}
		})
	}
}
