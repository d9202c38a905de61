package deferred_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/twistgo/twist/deferred"
)

// errOopsie plays Twisted's GenericError in these tests.
var errOopsie = errors.New("oopsie")

// coreResult returns d's successful result, failing the test if d has not
// fired or holds a failure.
func coreResult(t *testing.T, d *deferred.Deferred) any {
	t.Helper()
	if !d.Called() {
		t.Fatalf("%v has not fired", d)
	}
	v, err := d.Result()
	if err != nil {
		t.Fatalf("%v failed: %v", d, err)
	}
	if _, waiting := v.(*deferred.Deferred); waiting {
		t.Fatalf("%v is waiting on another Deferred", d)
	}
	return v
}

// coreFailure returns d's failure and handles it (d's result becomes nil),
// failing the test if d has not failed.
func coreFailure(t *testing.T, d *deferred.Deferred) *deferred.Failure {
	t.Helper()
	var got *deferred.Failure
	d.AddErrback(func(f *deferred.Failure) (any, error) {
		got = f
		return nil, nil
	})
	if got == nil {
		t.Fatalf("%v has not failed", d)
	}
	return got
}

// coreNoResult fails the test if d has a result (a waiting Deferred has none).
func coreNoResult(t *testing.T, d *deferred.Deferred) {
	t.Helper()
	v, err := d.Result()
	if _, waiting := v.(*deferred.Deferred); d.Called() && !waiting {
		t.Fatalf("%v has a result: %v, %v", d, v, err)
	}
}

// recoverFrom returns the value f panics with, or nil.
func recoverFrom(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// returning returns a callback that ignores its argument and returns v.
func returning(v any) deferred.Callback {
	return func(any) (any, error) { return v, nil }
}

// record returns a callback that appends its argument to *got and passes it on.
func record(got *[]any) deferred.Callback {
	return func(v any) (any, error) {
		*got = append(*got, v)
		return v, nil
	}
}

func TestCallbackChain(t *testing.T) {
	t.Run("callback receives the fired value", func(t *testing.T) {
		var got []any
		d := deferred.New()
		d.AddCallback(record(&got))
		d.Callback("hello")
		if len(got) != 1 || got[0] != "hello" {
			t.Fatalf("callback got %v", got)
		}
	})
	t.Run("each callback receives the previous one's result", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(v any) (any, error) { return v.(int) + 1, nil })
		d.AddCallback(func(v any) (any, error) { return v.(int) * 10, nil })
		d.Callback(1)
		if got := coreResult(t, d); got != 20 {
			t.Fatalf("result %v, want 20", got)
		}
	})
	t.Run("errback is skipped on success", func(t *testing.T) {
		d := deferred.New()
		d.AddErrback(func(*deferred.Failure) (any, error) {
			t.Error("errback ran")
			return nil, nil
		})
		d.Callback("ok")
		if got := coreResult(t, d); got != "ok" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("callback is skipped on failure", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			t.Error("callback ran")
			return nil, nil
		})
		d.Errback(errOopsie)
		if f := coreFailure(t, d); !errors.Is(f, errOopsie) {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("nil errback in AddCallbacks passes the failure on", func(t *testing.T) {
		d := deferred.New()
		d.AddCallbacks(func(any) (any, error) {
			t.Error("callback ran")
			return nil, nil
		}, nil)
		d.Errback(errOopsie)
		if f := coreFailure(t, d); f.Value() != errOopsie {
			t.Fatalf("failure value %v", f.Value())
		}
	})
	t.Run("nil callback in AddCallbacks passes the value on", func(t *testing.T) {
		d := deferred.New()
		d.AddCallbacks(nil, func(*deferred.Failure) (any, error) {
			t.Error("errback ran")
			return nil, nil
		})
		d.Callback(7)
		if got := coreResult(t, d); got != 7 {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("Succeed runs callbacks added later at once", func(t *testing.T) {
		var got []any
		deferred.Succeed("success").AddCallback(record(&got))
		if len(got) != 1 || got[0] != "success" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("Fail runs errbacks added later at once", func(t *testing.T) {
		if f := coreFailure(t, deferred.Fail(errOopsie)); f.ErrorMessage() != "oopsie" {
			t.Fatalf("message %q", f.ErrorMessage())
		}
	})
	t.Run("callback error switches to the errback path", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) { return nil, errOopsie })
		d.AddCallback(func(any) (any, error) {
			t.Error("callback after the error ran")
			return nil, nil
		})
		d.Callback(1)
		if f := coreFailure(t, d); !errors.Is(f, errOopsie) {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("callback returning a *Failure value switches to the errback path", func(t *testing.T) {
		f := deferred.NewFailure(errOopsie)
		d := deferred.Succeed(6).AddCallback(returning(f)).AddCallback(returning(7))
		if got := coreFailure(t, d); got != f {
			t.Fatalf("failure %v, want the returned one", got)
		}
	})
	t.Run("errback returning a value resumes the callback path", func(t *testing.T) {
		d := deferred.Fail(errOopsie)
		d.AddErrback(func(*deferred.Failure) (any, error) { return "recovered", nil })
		d.AddCallback(func(v any) (any, error) { return v.(string) + "!", nil })
		if got := coreResult(t, d); got != "recovered!" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("errback returning nil resumes with a nil result", func(t *testing.T) {
		d := deferred.Fail(errOopsie)
		d.AddErrback(func(*deferred.Failure) (any, error) { return nil, nil })
		if got := coreResult(t, d); got != nil {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("errback returning its failure stays on the errback path with the same failure", func(t *testing.T) {
		d := deferred.Fail(errOopsie)
		var first *deferred.Failure
		d.AddErrback(func(f *deferred.Failure) (any, error) {
			first = f
			return nil, f
		})
		d.AddCallback(func(any) (any, error) {
			t.Error("callback ran")
			return nil, nil
		})
		if got := coreFailure(t, d); got != first {
			t.Fatalf("failure changed: %p, want %p", got, first)
		}
	})
	t.Run("errback returning a new error replaces the failure", func(t *testing.T) {
		other := errors.New("other")
		d := deferred.Fail(errOopsie)
		d.AddErrback(func(*deferred.Failure) (any, error) { return nil, other })
		if f := coreFailure(t, d); f.Value() != other {
			t.Fatalf("failure value %v", f.Value())
		}
	})
	t.Run("AddBoth receives the value on success", func(t *testing.T) {
		var got []any
		deferred.Succeed(3).AddBoth(record(&got))
		if len(got) != 1 || got[0] != 3 {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("AddBoth receives the failure on failure", func(t *testing.T) {
		var got []any
		d := deferred.Fail(errOopsie).AddBoth(record(&got))
		f, ok := got[0].(*deferred.Failure)
		if !ok || !errors.Is(f, errOopsie) {
			t.Fatalf("got %v", got)
		}
		coreFailure(t, d)
	})
	t.Run("AddBoth returning a value after a failure resumes callbacks", func(t *testing.T) {
		d := deferred.Fail(errOopsie).AddBoth(returning("finally"))
		if got := coreResult(t, d); got != "finally" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("Callback with a *Failure fires the errback path", func(t *testing.T) {
		f := deferred.NewFailure(errOopsie)
		d := deferred.New()
		d.Callback(f)
		if got := coreFailure(t, d); got != f {
			t.Fatalf("failure %v", got)
		}
	})
	t.Run("Errback wraps a plain error in a Failure", func(t *testing.T) {
		d := deferred.New()
		d.Errback(errOopsie)
		_, err := d.Result()
		f, ok := err.(*deferred.Failure)
		if !ok || f.Value() != errOopsie || !errors.Is(err, errOopsie) {
			t.Fatalf("result error %#v", err)
		}
		coreFailure(t, d)
	})
	t.Run("Errback keeps a *Failure as it is", func(t *testing.T) {
		f := deferred.NewFailure(errOopsie)
		d := deferred.New()
		d.Errback(f)
		if got := coreFailure(t, d); got != f {
			t.Fatalf("failure %p, want %p", got, f)
		}
	})
	t.Run("Errback with nil panics", func(t *testing.T) {
		d := deferred.New()
		if recoverFrom(func() { d.Errback(nil) }) == nil {
			t.Fatal("Errback(nil) did not panic")
		}
		if d.Called() {
			t.Fatal("Errback(nil) fired the Deferred")
		}
	})
	t.Run("Called is false before and true after firing", func(t *testing.T) {
		d := deferred.New()
		if d.Called() {
			t.Fatal("new Deferred is called")
		}
		d.Callback(nil)
		if !d.Called() {
			t.Fatal("fired Deferred is not called")
		}
	})
	t.Run("Result is nil before firing", func(t *testing.T) {
		if v, err := deferred.New().Result(); v != nil || err != nil {
			t.Fatalf("Result() = %v, %v", v, err)
		}
	})
	t.Run("AddCallbacks returns the Deferred itself", func(t *testing.T) {
		d := deferred.New()
		if d.AddCallbacks(nil, nil) != d || d.AddCallback(returning(1)) != d ||
			d.AddErrback(nil) != d || d.AddBoth(returning(2)) != d {
			t.Fatal("an Add method did not return its Deferred")
		}
	})
	t.Run("callback error failure names the callback as its first frame", func(t *testing.T) {
		d := deferred.Succeed(nil).AddCallback(failingCallback)
		f := coreFailure(t, d)
		if fn := f.Frames()[0].Function; !strings.HasSuffix(fn, ".failingCallback") {
			t.Fatalf("first frame %q, want failingCallback", fn)
		}
	})
}

func failingCallback(any) (any, error) { return nil, errOopsie }

// TestAddCallbacksVersusAddCallbackThenAddErrback pins the "gotcha" of the
// Deferred reference: an errback added with its callback by AddCallbacks does
// not see that callback's failure.
func TestAddCallbacksVersusAddCallbackThenAddErrback(t *testing.T) {
	callback1 := func(any) (any, error) { return nil, errOopsie }
	tests := []struct {
		name  string
		build func(d *deferred.Deferred, eb1, eb2 deferred.Errback)
		want  string
	}{
		{"AddCallback then AddErrback: errback1 sees callback1's failure", func(d *deferred.Deferred, eb1, eb2 deferred.Errback) {
			d.AddCallback(callback1).AddErrback(eb1)
			d.AddCallback(returning(nil)).AddErrback(eb2)
		}, "errback1"},
		{"AddCallbacks: errback2 sees callback1's failure", func(d *deferred.Deferred, eb1, eb2 deferred.Errback) {
			d.AddCallbacks(callback1, eb1)
			d.AddCallbacks(returning(nil), eb2)
		}, "errback2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran []string
			eb := func(name string) deferred.Errback {
				return func(f *deferred.Failure) (any, error) {
					ran = append(ran, name)
					return nil, nil
				}
			}
			d := deferred.New()
			tt.build(d, eb("errback1"), eb("errback2"))
			d.Callback("x")
			if len(ran) != 1 || ran[0] != tt.want {
				t.Fatalf("errbacks run: %v, want [%s]", ran, tt.want)
			}
		})
	}
	t.Run("AddCallbacks: errback handles an upstream failure instead of the callback", func(t *testing.T) {
		var ran []string
		d := deferred.Fail(errOopsie)
		d.AddCallbacks(func(any) (any, error) {
			ran = append(ran, "callback")
			return nil, nil
		}, func(*deferred.Failure) (any, error) {
			ran = append(ran, "errback")
			return nil, nil
		})
		if len(ran) != 1 || ran[0] != "errback" {
			t.Fatalf("ran %v", ran)
		}
	})
}

func TestReentrancy(t *testing.T) {
	t.Run("callback added by a callback runs at the end of the chain", func(t *testing.T) {
		var called []int
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			called = append(called, 1)
			d.AddCallback(func(any) (any, error) { called = append(called, 3); return nil, nil })
			return nil, nil
		})
		d.AddCallback(func(any) (any, error) { called = append(called, 2); return nil, nil })
		d.Callback(nil)
		if fmt.Sprint(called) != "[1 2 3]" {
			t.Fatalf("order %v", called)
		}
	})
	t.Run("callback added by a callback does not run until that callback returns", func(t *testing.T) {
		var called []int
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			called = append(called, 1)
			d.AddCallback(func(any) (any, error) { called = append(called, 2); return nil, nil })
			if len(called) != 1 {
				t.Errorf("nested callback ran early: %v", called)
			}
			return nil, nil
		})
		d.Callback(nil)
		if fmt.Sprint(called) != "[1 2]" {
			t.Fatalf("order %v", called)
		}
	})
	t.Run("failure of a callback added by a callback reaches the next errback", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			d.AddCallback(func(any) (any, error) { return nil, errOopsie })
			return nil, nil
		})
		d.Callback(nil)
		if f := coreFailure(t, d); !errors.Is(f, errOopsie) {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("firing a Deferred from its own callback panics into a failure", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			d.Callback("again")
			return nil, nil
		})
		d.Callback("once")
		if f := coreFailure(t, d); !errors.Is(f, deferred.ErrAlreadyCalled) {
			t.Fatalf("failure %v, want ErrAlreadyCalled", f)
		}
	})
}

func TestPause(t *testing.T) {
	t.Run("callbacks wait while paused and run on Unpause", func(t *testing.T) {
		var got []any
		d := deferred.New()
		d.Pause()
		d.AddCallback(record(&got))
		d.Callback(1)
		if len(got) != 0 {
			t.Fatalf("callback ran while paused: %v", got)
		}
		d.Unpause()
		if len(got) != 1 {
			t.Fatalf("callback did not run on Unpause: %v", got)
		}
	})
	t.Run("pauses are counted", func(t *testing.T) {
		var got []any
		d := deferred.Succeed(1)
		d.Pause()
		d.Pause()
		d.AddCallback(record(&got))
		d.Unpause()
		if len(got) != 0 || d.Paused() != 1 {
			t.Fatalf("ran after one of two Unpauses: %v, paused %d", got, d.Paused())
		}
		d.Unpause()
		if len(got) != 1 || d.Paused() != 0 {
			t.Fatalf("did not run after both Unpauses: %v, paused %d", got, d.Paused())
		}
	})
	t.Run("a paused failure waits for Unpause", func(t *testing.T) {
		var got []any
		d := deferred.Fail(errOopsie)
		d.Pause()
		d.AddErrback(func(f *deferred.Failure) (any, error) { got = append(got, f); return nil, nil })
		if len(got) != 0 {
			t.Fatal("errback ran while paused")
		}
		d.Unpause()
		if len(got) != 1 {
			t.Fatal("errback did not run on Unpause")
		}
	})
	t.Run("Unpause before firing runs nothing", func(t *testing.T) {
		var got []any
		d := deferred.New()
		d.Pause()
		d.AddCallback(record(&got))
		d.Unpause()
		if len(got) != 0 || d.Called() {
			t.Fatalf("ran %v before firing", got)
		}
	})
	t.Run("Unpause of a Deferred that is not paused panics", func(t *testing.T) {
		if recoverFrom(deferred.New().Unpause) == nil {
			t.Fatal("no panic")
		}
	})
	t.Run("Unpause of a Deferred that only waits on another panics", func(t *testing.T) {
		var got []any
		inner := deferred.New()
		outer := deferred.New()
		outer.AddCallback(returning(inner)).AddCallback(record(&got))
		outer.Callback(1)
		if recoverFrom(outer.Unpause) == nil {
			t.Fatal("no panic")
		}
		// The chain is intact: it goes on once inner fires, with its result.
		inner.Callback(2)
		if len(got) != 1 || got[0] != 2 {
			t.Fatalf("the waiting chain got %v, want [2]", got)
		}
		// A Pause on top of the wait is the user's to undo.
		other := deferred.New()
		outer2 := deferred.New()
		outer2.AddCallback(returning(other))
		outer2.Callback(1)
		outer2.Pause()
		outer2.Unpause()
		if outer2.Paused() != 1 {
			t.Fatalf("Paused() = %d while waiting, want 1", outer2.Paused())
		}
		other.Callback(3)
		if v, err := outer2.Result(); v != 3 || err != nil || outer2.Paused() != 0 {
			t.Fatalf("result %v, %v, paused %d", v, err, outer2.Paused())
		}
	})
}

func TestReturnedDeferred(t *testing.T) {
	t.Run("unfired Deferred returned by a callback pauses the chain until it fires", func(t *testing.T) {
		var got []any
		inner := deferred.New()
		outer := deferred.New()
		outer.AddCallback(returning(inner)).AddCallback(record(&got))
		outer.Callback(1)
		if len(got) != 0 {
			t.Fatalf("chain went on before inner fired: %v", got)
		}
		coreNoResult(t, outer)
		inner.Callback(2)
		if len(got) != 1 || got[0] != 2 {
			t.Fatalf("got %v, want [2]", got)
		}
	})
	t.Run("fired Deferred returned by a callback gives its result at once and keeps nil", func(t *testing.T) {
		first := deferred.Succeed("result")
		second := deferred.New()
		second.AddCallback(returning(first))
		second.Callback(nil)
		if got := coreResult(t, first); got != nil {
			t.Fatalf("first's result %v, want nil", got)
		}
		if got := coreResult(t, second); got != "result" {
			t.Fatalf("second's result %v", got)
		}
	})
	t.Run("failed Deferred returned by a callback gives its failure and keeps nil", func(t *testing.T) {
		first := deferred.Fail(errOopsie)
		second := deferred.New()
		second.AddCallback(returning(first))
		second.Callback(nil)
		if got := coreResult(t, first); got != nil {
			t.Fatalf("first's result %v, want nil", got)
		}
		if f := coreFailure(t, second); !errors.Is(f, errOopsie) {
			t.Fatalf("second's failure %v", f)
		}
	})
	t.Run("asynchronous implicit chain leaves nil in the inner Deferred", func(t *testing.T) {
		var firstGot, secondGot []any
		first, second := deferred.New(), deferred.New()
		second.AddCallback(returning(first))
		second.Callback(nil)
		first.AddCallback(record(&firstGot))
		second.AddCallback(record(&secondGot))
		first.Callback("result")
		if len(firstGot) != 1 || firstGot[0] != nil {
			t.Fatalf("first's callback got %v, want [nil]", firstGot)
		}
		if len(secondGot) != 1 || secondGot[0] != "result" {
			t.Fatalf("second's callback got %v", secondGot)
		}
	})
	t.Run("asynchronous implicit error chain moves the failure to the outer Deferred", func(t *testing.T) {
		var firstGot []any
		first, second := deferred.New(), deferred.New()
		second.AddCallback(returning(first))
		second.Callback(nil)
		var secondErr *deferred.Failure
		second.AddErrback(func(f *deferred.Failure) (any, error) { secondErr = f; return nil, nil })
		first.AddCallback(record(&firstGot))
		first.Errback(errOopsie)
		if secondErr == nil || !errors.Is(secondErr, errOopsie) {
			t.Fatalf("second's errback got %v", secondErr)
		}
		if len(firstGot) != 1 || firstGot[0] != nil {
			t.Fatalf("first's callback got %v, want [nil]", firstGot)
		}
	})
	t.Run("errback may return a Deferred too", func(t *testing.T) {
		var got []any
		inner := deferred.New()
		d := deferred.New()
		d.AddErrback(func(*deferred.Failure) (any, error) { return inner, nil }).AddCallback(record(&got))
		d.Errback(errOopsie)
		coreNoResult(t, d)
		inner.Callback("result")
		if len(got) != 1 || got[0] != "result" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("paused inner Deferred with a result holds the outer chain until Unpause", func(t *testing.T) {
		var got []any
		paused := deferred.Succeed("expected")
		paused.Pause()
		chained := deferred.New()
		chained.AddCallback(returning(paused))
		chained.Callback(nil)
		chained.AddCallback(record(&got))
		if len(got) != 0 {
			t.Fatalf("ran before Unpause: %v", got)
		}
		paused.Unpause()
		if len(got) != 1 || got[0] != "expected" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("inner Deferred paused when it fires holds the outer chain until Unpause", func(t *testing.T) {
		var got []any
		d1, d2 := deferred.New(), deferred.New()
		d2.Pause()
		d1.AddCallback(returning(d2)).AddCallback(record(&got))
		d1.Callback(1)
		d2.Callback(2)
		if len(got) != 0 {
			t.Fatal("ran while the inner Deferred was paused")
		}
		d2.Unpause()
		if len(got) != 1 || got[0] != 2 {
			t.Fatalf("got %v, want [2]", got)
		}
	})
	t.Run("paused outer Deferred does not stop the inner one's callbacks", func(t *testing.T) {
		var got []any
		first, second := deferred.New(), deferred.New()
		first.AddCallback(returning(second))
		first.Callback(nil)
		first.Pause()
		second.Callback("x")
		second.AddCallback(record(&got))
		if len(got) != 1 || got[0] != nil {
			t.Fatalf("second's callback got %v, want [nil]", got)
		}
	})
	t.Run("chaining is transitive", func(t *testing.T) {
		var got []any
		first, second, third := deferred.New(), deferred.New(), deferred.New()
		second.AddCallback(returning(first))
		third.AddCallback(returning(second)).AddCallback(record(&got))
		second.Callback(nil)
		third.Callback(nil)
		if len(got) != 0 {
			t.Fatal("third went on before first fired")
		}
		first.Callback("result")
		if len(got) != 1 || got[0] != "result" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("middle Deferred's callbacks run before the outer one gets the result", func(t *testing.T) {
		var results []string
		inner := deferred.New()
		cb := func(v any) (any, error) {
			results = append(results, "start-of-cb "+v.(string))
			d := deferred.Succeed("inner")
			d.AddCallback(func(v any) (any, error) {
				results = append(results, "firstCallback "+v.(string))
				return inner, nil
			})
			d.AddCallback(func(v any) (any, error) {
				results = append(results, "secondCallback "+v.(string))
				return v.(string) + v.(string), nil
			})
			return d, nil
		}
		outer := deferred.Succeed("outer").AddCallback(cb)
		outer.AddCallback(func(v any) (any, error) { results = append(results, v.(string)); return nil, nil })
		if want := "[start-of-cb outer firstCallback inner]"; fmt.Sprint(results) != want {
			t.Fatalf("before inner fired: %v, want %s", results, want)
		}
		inner.Callback("orange")
		if want := "[start-of-cb outer firstCallback inner secondCallback orange orangeorange]"; fmt.Sprint(results) != want {
			t.Fatalf("results %v, want %s", results, want)
		}
	})
	t.Run("callbacks already on the inner Deferred run before the outer chain resumes", func(t *testing.T) {
		var got []any
		inner := deferred.New()
		outer := deferred.Succeed(nil)
		outer.AddCallback(func(any) (any, error) {
			return inner.AddCallback(func(v any) (any, error) { return []any{v}, nil }), nil
		}).AddCallback(record(&got))
		inner.Callback("withers")
		if fmt.Sprint(got) != "[[withers]]" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("callback added after a waiting callback runs after the inner chain", func(t *testing.T) {
		var results []string
		a := deferred.New()
		outer := deferred.New()
		outer.AddCallback(func(any) (any, error) {
			d := deferred.New()
			d.AddCallback(func(any) (any, error) {
				results = append(results, "firstCallback")
				return a, nil
			}).AddCallback(func(v any) (any, error) {
				results = append(results, "secondCallback "+v.(string))
				return nil, nil
			})
			d.Callback(nil)
			return d, nil
		})
		outer.AddCallback(func(any) (any, error) { results = append(results, "final"); return nil, nil })
		outer.Callback(nil)
		a.Callback("withers")
		if want := "[firstCallback secondCallback withers final]"; fmt.Sprint(results) != want {
			t.Fatalf("results %v, want %s", results, want)
		}
	})
	t.Run("callbacks added to the middle of three fired chained Deferreds run", func(t *testing.T) {
		var got []any
		first, second, third := deferred.New(), deferred.New(), deferred.New()
		first.AddCallback(returning(second))
		second.AddCallback(returning(third))
		second.Callback(nil)
		first.Callback(nil)
		third.Callback(nil)
		second.AddCallback(record(&got))
		if len(got) != 1 || got[0] != nil {
			t.Fatalf("got %v, want [nil]", got)
		}
	})
	t.Run("callback returning its own Deferred fails instead of waiting forever", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) { return d, nil })
		d.Callback("foo")
		if f := coreFailure(t, d); !strings.Contains(f.Error(), "returned the Deferred it was added to") {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("Result of a waiting Deferred is the Deferred it waits on", func(t *testing.T) {
		inner := deferred.New()
		outer := deferred.Succeed(nil).AddCallback(returning(inner))
		if v, err := outer.Result(); v != inner || err != nil {
			t.Fatalf("Result() = %v, %v", v, err)
		}
	})
}

func TestString(t *testing.T) {
	t.Run("unfired", func(t *testing.T) {
		d := deferred.New()
		if got, want := d.String(), fmt.Sprintf("<Deferred at %p>", d); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	})
	t.Run("fired shows the current result", func(t *testing.T) {
		d := deferred.Succeed("orange")
		if got, want := d.String(), fmt.Sprintf("<Deferred at %p current result: orange>", d); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	})
	t.Run("waiting on a returned Deferred names it", func(t *testing.T) {
		a, b := deferred.New(), deferred.New()
		a.AddCallback(returning(b))
		a.Callback(nil)
		if got, want := a.String(), fmt.Sprintf("<Deferred at %p waiting on Deferred at %p>", a, b); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	})
}

func TestChain(t *testing.T) {
	t.Run("passes the value to the other Deferred and keeps nil", func(t *testing.T) {
		d, other := deferred.New(), deferred.New()
		d.Chain(other)
		d.Callback("v")
		if got := coreResult(t, other); got != "v" {
			t.Fatalf("other's result %v", got)
		}
		if got := coreResult(t, d); got != nil {
			t.Fatalf("d's result %v, want nil", got)
		}
	})
	t.Run("passes the failure to the other Deferred and keeps nil", func(t *testing.T) {
		d, other := deferred.New(), deferred.New()
		d.Chain(other)
		d.Errback(errOopsie)
		if f := coreFailure(t, other); !errors.Is(f, errOopsie) {
			t.Fatalf("other's failure %v", f)
		}
		if got := coreResult(t, d); got != nil {
			t.Fatalf("d's result %v, want nil", got)
		}
	})
	t.Run("records the chain until it is resolved", func(t *testing.T) {
		a, b := deferred.New(), deferred.New()
		b.Chain(a)
		if want := fmt.Sprintf("<Deferred at %p waiting on Deferred at %p>", a, b); a.String() != want {
			t.Fatalf("%q, want %q", a.String(), want)
		}
		b.Callback(nil)
		if strings.Contains(a.String(), "waiting") {
			t.Fatalf("still waiting after resolution: %q", a.String())
		}
	})
	t.Run("cancelling the other Deferred does not cancel the source", func(t *testing.T) {
		d, other := deferred.New(), deferred.New()
		d.Chain(other)
		other.Cancel()
		coreNoResult(t, d)
		coreFailure(t, other)
		// The source's eventual result is swallowed once by the cancelled other.
		d.Callback("late")
		if got := coreResult(t, d); got != nil {
			t.Fatalf("d's result %v, want nil", got)
		}
	})
	t.Run("cancelling a fired other Deferred does not cancel the source", func(t *testing.T) {
		d, other := deferred.New(), deferred.Succeed(1)
		d.Chain(other)
		other.Cancel()
		coreNoResult(t, d)
		d.AddErrback(func(*deferred.Failure) (any, error) { return nil, nil })
	})
	t.Run("chaining into a fired Deferred fails the source with ErrAlreadyCalled", func(t *testing.T) {
		d := deferred.New()
		d.Chain(deferred.Succeed(1))
		d.Callback(2)
		if f := coreFailure(t, d); !errors.Is(f, deferred.ErrAlreadyCalled) {
			t.Fatalf("failure %v", f)
		}
	})
}

func TestAlreadyCalled(t *testing.T) {
	fire := map[string]func(d *deferred.Deferred){
		"Callback": func(d *deferred.Deferred) { d.Callback("hello") },
		"Errback":  func(d *deferred.Deferred) { d.Errback(errOopsie) },
	}
	for _, first := range []string{"Callback", "Errback"} {
		for _, second := range []string{"Callback", "Errback"} {
			t.Run(first+" then "+second+" panics with ErrAlreadyCalled", func(t *testing.T) {
				d := deferred.New()
				d.AddCallbacks(returning(nil), func(*deferred.Failure) (any, error) { return nil, nil })
				fire[first](d)
				v := recoverFrom(func() { fire[second](d) })
				if err, ok := v.(error); !ok || !errors.Is(err, deferred.ErrAlreadyCalled) {
					t.Fatalf("panic %v, want ErrAlreadyCalled", v)
				}
			})
		}
	}
	t.Run("Callback with a *Deferred panics and leaves the Deferred unfired", func(t *testing.T) {
		d := deferred.New()
		if recoverFrom(func() { d.Callback(deferred.New()) }) == nil {
			t.Fatal("no panic")
		}
		if d.Called() {
			t.Fatal("Deferred fired")
		}
	})
}

func TestCancel(t *testing.T) {
	t.Run("without canceller fails with ErrCancelled", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			t.Error("callback ran")
			return nil, nil
		})
		d.Cancel()
		if f := coreFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("failure %v", f)
		}
	})
	late := map[string]func(d *deferred.Deferred){
		"Callback": func(d *deferred.Deferred) { d.Callback(nil) },
		"Errback":  func(d *deferred.Deferred) { d.Errback(errOopsie) },
	}
	for _, first := range []string{"Callback", "Errback"} {
		for _, second := range []string{"Callback", "Errback"} {
			t.Run("without canceller swallows one late "+first+" but not a second "+second, func(t *testing.T) {
				d := deferred.New()
				d.Cancel()
				if v := recoverFrom(func() { late[first](d) }); v != nil {
					t.Fatalf("first late fire panicked: %v", v)
				}
				if f := coreFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
					t.Fatalf("late fire changed the failure to %v", f)
				}
				v := recoverFrom(func() { late[second](d) })
				if err, ok := v.(error); !ok || !errors.Is(err, deferred.ErrAlreadyCalled) {
					t.Fatalf("second late fire: panic %v, want ErrAlreadyCalled", v)
				}
			})
		}
	}
	t.Run("without canceller ignores cancels after the swallowed late fire", func(t *testing.T) {
		var got []*deferred.Failure
		d := deferred.New()
		d.AddErrback(func(f *deferred.Failure) (any, error) { got = append(got, f); return f, nil })
		d.Cancel()
		d.Callback(nil)
		d.Cancel()
		if len(got) != 1 {
			t.Fatalf("errback ran %d times", len(got))
		}
		coreFailure(t, d)
	})
	t.Run("repeated Cancel keeps the first failure", func(t *testing.T) {
		d := deferred.New()
		d.Cancel()
		_, first := d.Result()
		d.Cancel()
		if _, err := d.Result(); err != first {
			t.Fatalf("failure changed from %v to %v", first, err)
		}
		coreFailure(t, d)
	})
	t.Run("canceller runs once however often Cancel is called", func(t *testing.T) {
		calls := 0
		d := deferred.NewWithCanceller(func(*deferred.Deferred) { calls++ })
		d.Cancel()
		d.Cancel()
		if calls != 1 {
			t.Fatalf("canceller ran %d times", calls)
		}
		if f := coreFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("canceller that does not fire leaves later fires unswallowed", func(t *testing.T) {
		d := deferred.NewWithCanceller(func(*deferred.Deferred) {})
		d.Cancel()
		coreFailure(t, d)
		for name, fire := range late {
			v := recoverFrom(func() { fire(d) })
			if err, ok := v.(error); !ok || !errors.Is(err, deferred.ErrAlreadyCalled) {
				t.Fatalf("%s after Cancel: panic %v, want ErrAlreadyCalled", name, v)
			}
		}
	})
	t.Run("canceller receives the cancelled Deferred", func(t *testing.T) {
		var got *deferred.Deferred
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) { got = c })
		d.Cancel()
		if got != d {
			t.Fatalf("canceller got %v, want %v", got, d)
		}
		coreFailure(t, d)
	})
	t.Run("after Callback does nothing", func(t *testing.T) {
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) {
			t.Error("canceller ran")
			c.Errback(errOopsie)
		})
		d.Callback("biff!")
		d.Cancel()
		if got := coreResult(t, d); got != "biff!" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("after Errback does nothing", func(t *testing.T) {
		d := deferred.NewWithCanceller(func(*deferred.Deferred) { t.Error("canceller ran") })
		d.Errback(errOopsie)
		d.Cancel()
		if f := coreFailure(t, d); f.Value() != errOopsie {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("canceller that errbacks decides the failure", func(t *testing.T) {
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Errback(errOopsie) })
		d.Cancel()
		if f := coreFailure(t, d); f.Value() != errOopsie {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("canceller that callbacks decides the result", func(t *testing.T) {
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Callback("hello!") })
		d.Cancel()
		if got := coreResult(t, d); got != "hello!" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("of a Deferred waiting on another cancels the other", func(t *testing.T) {
		innerCalls := 0
		b := deferred.NewWithCanceller(func(*deferred.Deferred) { innerCalls++ })
		a := deferred.NewWithCanceller(func(*deferred.Deferred) { t.Error("outer canceller ran") })
		a.Callback(nil)
		a.AddCallback(returning(b))
		a.Cancel()
		if innerCalls != 1 {
			t.Fatalf("inner canceller ran %d times", innerCalls)
		}
		if f := coreFailure(t, a); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("outer failure %v", f)
		}
	})
	t.Run("of a waiting Deferred resumes with what the inner canceller gives", func(t *testing.T) {
		b := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Callback("from canceller") })
		a := deferred.Succeed(nil).AddCallback(returning(b))
		a.Cancel()
		if got := coreResult(t, a); got != "from canceller" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("failure records the caller of Cancel", func(t *testing.T) {
		d := deferred.New()
		d.Cancel()
		f := coreFailure(t, d)
		if fn := f.Frames()[0].Function; !strings.Contains(fn, "TestCancel") {
			t.Fatalf("first frame %q, want the test", fn)
		}
	})
	t.Run("canceller is released once the Deferred fires", func(t *testing.T) {
		held := new([64]byte)
		w := weak.Make(held)
		d := deferred.NewWithCanceller(func(*deferred.Deferred) { _ = held[0] })
		held = nil
		d.Callback(nil)
		runtime.GC()
		if w.Value() != nil {
			t.Fatal("a fired Deferred still holds its canceller")
		}
		runtime.KeepAlive(d)
	})
}

func TestAddTimeout(t *testing.T) {
	overridden := func(any, time.Duration) (any, error) { return "OVERRIDDEN", nil }
	for _, custom := range []bool{false, true} {
		onTimeout := map[bool]func(any, time.Duration) (any, error){true: overridden}[custom]
		suffix := map[bool]string{true: " with a custom on-timeout", false: ""}[custom]

		t.Run("success before the time-out cancels nothing"+suffix, func(t *testing.T) {
			clk := newManualClock()
			d := deferred.New().AddTimeout(10*time.Second, clk, onTimeout)
			inner := deferred.NewWithCanceller(func(*deferred.Deferred) { t.Error("inner cancelled") })
			var got any
			d.AddCallback(func(v any) (any, error) { got = v; return inner, nil })
			d.Callback("results")
			if got != "results" {
				t.Fatalf("callback got %v", got)
			}
			if clk.Pending() != 0 {
				t.Fatal("the time-out call is still scheduled")
			}
			clk.Advance(15 * time.Second)
			coreNoResult(t, inner)
		})
		t.Run("failure before the time-out cancels nothing"+suffix, func(t *testing.T) {
			clk := newManualClock()
			d := deferred.New().AddTimeout(10*time.Second, clk, onTimeout)
			inner := deferred.NewWithCanceller(func(*deferred.Deferred) { t.Error("inner cancelled") })
			var got *deferred.Failure
			d.AddErrback(func(f *deferred.Failure) (any, error) { got = f; return inner, nil })
			d.Errback(errOopsie)
			if got == nil || got.Value() != errOopsie {
				t.Fatalf("errback got %v", got)
			}
			clk.Advance(15 * time.Second)
			coreNoResult(t, inner)
		})
		t.Run("manual Cancel before the time-out keeps ErrCancelled"+suffix, func(t *testing.T) {
			clk := newManualClock()
			d := deferred.New().AddTimeout(10*time.Second, clk, onTimeout)
			inner := deferred.NewWithCanceller(func(*deferred.Deferred) { t.Error("inner cancelled") })
			var got *deferred.Failure
			d.AddErrback(func(f *deferred.Failure) (any, error) { got = f; return inner, nil })
			d.Cancel()
			if got == nil || !errors.Is(got, deferred.ErrCancelled) || errors.Is(got, deferred.ErrTimeout) {
				t.Fatalf("errback got %v, want ErrCancelled", got)
			}
			clk.Advance(15 * time.Second)
			coreNoResult(t, inner)
		})
	}
	t.Run("chains: returns the Deferred", func(t *testing.T) {
		d := deferred.New()
		if d.AddTimeout(5*time.Second, newManualClock(), nil) != d {
			t.Fatal("AddTimeout did not return its Deferred")
		}
		d.AddCallback(returning("done"))
		d.Callback(nil)
		if got := coreResult(t, d); got != "done" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("times out with a *TimeoutError matching ErrTimeout", func(t *testing.T) {
		clk := newManualClock()
		d := deferred.New().AddTimeout(10*time.Second, clk, nil)
		clk.Advance(9 * time.Second)
		coreNoResult(t, d)
		clk.Advance(6 * time.Second)
		f := coreFailure(t, d)
		var te *deferred.TimeoutError
		if !errors.As(f, &te) || te.Timeout != 10*time.Second || !errors.Is(f, deferred.ErrTimeout) {
			t.Fatalf("failure %v, want a 10s *TimeoutError", f)
		}
		if errors.Is(f, deferred.ErrCancelled) {
			t.Fatal("the time-out still matches ErrCancelled")
		}
	})
	t.Run("custom on-timeout result replaces the failure", func(t *testing.T) {
		clk := newManualClock()
		d := deferred.New().AddTimeout(10*time.Second, clk, overridden)
		clk.Advance(15 * time.Second)
		if got := coreResult(t, d); got != "OVERRIDDEN" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("custom on-timeout receives the cancelled result and the time-out", func(t *testing.T) {
		clk := newManualClock()
		var gotResult any
		var gotTimeout time.Duration
		d := deferred.New().AddTimeout(3*time.Second, clk, func(r any, to time.Duration) (any, error) {
			gotResult, gotTimeout = r, to
			return nil, nil
		})
		clk.Advance(3 * time.Second)
		f, ok := gotResult.(*deferred.Failure)
		if !ok || !errors.Is(f, deferred.ErrCancelled) || gotTimeout != 3*time.Second {
			t.Fatalf("on-timeout got %v, %v", gotResult, gotTimeout)
		}
		coreResult(t, d)
	})
	t.Run("canceller's success on time-out is the result", func(t *testing.T) {
		clk := newManualClock()
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Callback("I was cancelled!") })
		d.AddTimeout(10*time.Second, clk, nil)
		clk.Advance(15 * time.Second)
		if got := coreResult(t, d); got != "I was cancelled!" {
			t.Fatalf("result %v", got)
		}
	})
	t.Run("canceller's failure on time-out is kept", func(t *testing.T) {
		clk := newManualClock()
		what := errors.New("what!")
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Errback(what) })
		d.AddTimeout(10*time.Second, clk, nil)
		clk.Advance(15 * time.Second)
		if f := coreFailure(t, d); f.Value() != what {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("custom on-timeout handles the canceller's failure", func(t *testing.T) {
		clk := newManualClock()
		d := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Errback(errors.New("what!")) })
		d.AddTimeout(10*time.Second, clk, overridden)
		clk.Advance(15 * time.Second)
		if got := coreResult(t, d); got != "OVERRIDDEN" {
			t.Fatalf("result %v", got)
		}
	})
	errbackCases := []struct {
		name       string
		suppress   bool
		onTimeout  func(any, time.Duration) (any, error)
		wantResult any // nil: want a *TimeoutError
	}{
		{"errback added before sees ErrCancelled, then TimeoutError", false, nil, nil},
		{"errback added before that suppresses ErrCancelled makes it succeed", true, nil, "suppressed"},
		{"errback added before passes ErrCancelled to the custom on-timeout", false, overridden, "OVERRIDDEN"},
		{"errback added before that suppresses still runs the custom on-timeout", true, overridden, "OVERRIDDEN"},
	}
	for _, tt := range errbackCases {
		t.Run(tt.name, func(t *testing.T) {
			clk := newManualClock()
			d := deferred.New()
			var got *deferred.Failure
			d.AddErrback(func(f *deferred.Failure) (any, error) {
				got = f
				if tt.suppress {
					if err := f.Trap(deferred.ErrCancelled); err != nil {
						return nil, err
					}
					return "suppressed", nil
				}
				return nil, f
			})
			d.AddTimeout(10*time.Second, clk, tt.onTimeout)
			clk.Advance(15 * time.Second)
			if got == nil || !errors.Is(got, deferred.ErrCancelled) {
				t.Fatalf("errback got %v, want ErrCancelled", got)
			}
			if tt.wantResult == nil {
				if f := coreFailure(t, d); !errors.Is(f, deferred.ErrTimeout) {
					t.Fatalf("failure %v, want ErrTimeout", f)
				}
				return
			}
			if r := coreResult(t, d); r != tt.wantResult {
				t.Fatalf("result %v, want %v", r, tt.wantResult)
			}
		})
	}
	for _, custom := range []bool{false, true} {
		name := "callback added before runs with the canceller's success"
		want := any("success")
		var onTimeout func(any, time.Duration) (any, error)
		if custom {
			name += " and the custom on-timeout still runs"
			want, onTimeout = "OVERRIDDEN", overridden
		}
		t.Run(name, func(t *testing.T) {
			clk := newManualClock()
			d := deferred.NewWithCanceller(func(c *deferred.Deferred) { c.Callback("success") })
			var got any
			d.AddCallback(func(v any) (any, error) { got = v; return v, nil })
			d.AddTimeout(10*time.Second, clk, onTimeout)
			clk.Advance(15 * time.Second)
			if got != "success" {
				t.Fatalf("callback got %v", got)
			}
			if r := coreResult(t, d); r != want {
				t.Fatalf("result %v, want %v", r, want)
			}
		})
	}
	t.Run("covers a Deferred returned by a callback added before", func(t *testing.T) {
		clk := newManualClock()
		innerCancelled := false
		inner := deferred.NewWithCanceller(func(*deferred.Deferred) { innerCancelled = true })
		d := deferred.Succeed(nil).AddCallback(returning(inner))
		d.AddTimeout(time.Second, clk, nil)
		clk.Advance(time.Second)
		if !innerCancelled {
			t.Fatal("the inner Deferred was not cancelled")
		}
		if f := coreFailure(t, d); !errors.Is(f, deferred.ErrTimeout) {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("TimeoutError message names the time-out", func(t *testing.T) {
		err := &deferred.TimeoutError{Timeout: 2 * time.Second}
		if got := err.Error(); got != "deferred: timed out after 2s" {
			t.Fatalf("message %q", got)
		}
	})
}

func TestPanicInCallback(t *testing.T) {
	t.Run("becomes a *PanicError failure holding the value", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(func(any) (any, error) { panic("kaboom") })
		d.Callback(nil) // must not panic
		f := coreFailure(t, d)
		var pe *deferred.PanicError
		if !errors.As(f, &pe) || pe.Value != "kaboom" {
			t.Fatalf("failure %#v, want a *PanicError of kaboom", f.Value())
		}
		if f.ErrorMessage() != "panic: kaboom" {
			t.Fatalf("message %q", f.ErrorMessage())
		}
	})
	t.Run("with an error value unwraps to it", func(t *testing.T) {
		d := deferred.Succeed(nil).AddCallback(func(any) (any, error) { panic(errOopsie) })
		if f := coreFailure(t, d); !errors.Is(f, errOopsie) {
			t.Fatalf("failure %v does not match the panic's error", f)
		}
	})
	t.Run("with a *Failure value keeps that failure", func(t *testing.T) {
		want := deferred.NewFailure(errOopsie)
		d := deferred.Succeed(nil).AddCallback(func(any) (any, error) { panic(want) })
		if f := coreFailure(t, d); f != want {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("in an errback becomes the next failure", func(t *testing.T) {
		d := deferred.Fail(errOopsie).AddErrback(func(*deferred.Failure) (any, error) { panic("in errback") })
		var pe *deferred.PanicError
		if f := coreFailure(t, d); !errors.As(f, &pe) || pe.Value != "in errback" {
			t.Fatalf("failure %v", f)
		}
	})
	t.Run("records the panic site as the first frame", func(t *testing.T) {
		_, file, line, _ := runtime.Caller(0)
		d := deferred.Succeed(nil).AddCallback(func(any) (any, error) { panic("here") }) // line+1
		fr := coreFailure(t, d).Frames()[0]
		if fr.File != file || fr.Line != line+1 {
			t.Fatalf("first frame %s:%d (%s), want %s:%d", fr.File, fr.Line, fr.Function, file, line+1)
		}
	})
	t.Run("records a runtime fault's site as the first frame", func(t *testing.T) {
		var p *struct{ x int }
		_, file, line, _ := runtime.Caller(0)
		d := deferred.Succeed(nil).AddCallback(func(any) (any, error) { return p.x, nil }) // line+1
		f := coreFailure(t, d)
		var re runtime.Error
		if !errors.As(f, &re) {
			t.Fatalf("failure %v is not a runtime.Error", f)
		}
		if fr := f.Frames()[0]; fr.File != file || fr.Line != line+1 {
			t.Fatalf("first frame %s:%d (%s), want %s:%d", fr.File, fr.Line, fr.Function, file, line+1)
		}
	})
	t.Run("traceback does not start in the runtime", func(t *testing.T) {
		d := deferred.Succeed(nil).AddCallback(func(any) (any, error) { panic("x") })
		tb := coreFailure(t, d).Traceback()
		lines := strings.Split(tb, "\n")
		if len(lines) < 2 || strings.Contains(lines[1], "runtime.") {
			t.Fatalf("traceback starts in the runtime:\n%s", tb)
		}
	})
}

// stackDepth returns the number of frames on the calling goroutine's stack,
// up to 4096.
func stackDepth() int {
	var pcs [4096]uintptr
	return runtime.Callers(0, pcs[:])
}

// chainDepth links n Deferreds by returning each from a callback on the
// previous one (the first from a callback on top), fires them in the given
// order, and returns the stack depth at which a callback on top then runs and
// the result it gets.
func chainDepth(t *testing.T, n int, innermostFirst bool) (int, any) {
	t.Helper()
	top := deferred.New()
	inners := make([]*deferred.Deferred, n)
	for i := range inners {
		inners[i] = deferred.New()
	}
	last := deferred.New()
	top.AddCallback(returning(inners[0]))
	for i := 0; i < n-1; i++ {
		inners[i].AddCallback(returning(inners[i+1]))
	}
	inners[n-1].AddCallback(returning(last))
	depth := -1
	var got any
	top.AddCallback(func(v any) (any, error) {
		depth, got = stackDepth(), v
		return nil, nil
	})
	if innermostFirst {
		last.Callback("end")
		for i := n - 1; i >= 0; i-- {
			inners[i].Callback(nil)
		}
		top.Callback(nil)
	} else {
		top.Callback(nil)
		for _, d := range inners {
			d.Callback(nil)
		}
		if depth != -1 {
			t.Fatal("top's callback ran before the last Deferred fired")
		}
		last.Callback("end")
	}
	return depth, got
}

func TestDeepChains(t *testing.T) {
	for _, innermostFirst := range []bool{false, true} {
		name := "10000 returned Deferreds fired outermost first run in constant stack"
		if innermostFirst {
			name = "10000 returned Deferreds fired innermost first run in constant stack"
		}
		t.Run(name, func(t *testing.T) {
			short, _ := chainDepth(t, 1, innermostFirst)
			long, got := chainDepth(t, 10000, innermostFirst)
			if got != "end" {
				t.Fatalf("top got %v, want end", got)
			}
			if short != long {
				t.Fatalf("stack depth %d with 1 link, %d with 10000", short, long)
			}
		})
	}
	const million = 1_000_000
	t.Run("a million callbacks added to a fired Deferred run in constant stack", func(t *testing.T) {
		depths := make([]int, 0, 2)
		d := deferred.Succeed(0)
		for i := range million {
			d.AddCallback(func(v any) (any, error) {
				if i == 0 || i == million-1 {
					depths = append(depths, stackDepth())
				}
				return v.(int) + 1, nil
			})
		}
		if got := coreResult(t, d); got != million || depths[0] != depths[1] {
			t.Fatalf("result %v, depths %v", got, depths)
		}
	})
	t.Run("a million callbacks run by one Callback in constant stack", func(t *testing.T) {
		depths := make([]int, 0, 2)
		d := deferred.New()
		for i := range million {
			d.AddCallback(func(v any) (any, error) {
				if i == 0 || i == million-1 {
					depths = append(depths, stackDepth())
				}
				return v.(int) + 1, nil
			})
		}
		d.Callback(0)
		if got := coreResult(t, d); got != million || depths[0] != depths[1] {
			t.Fatalf("result %v, depths %v", got, depths)
		}
	})
}
