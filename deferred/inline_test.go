package deferred_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"weak"

	"github.com/twistgo/twist/deferred"
)

// The tests of Inline port Twisted's test_inlinecb.py and the inlineCallbacks
// tests of test_defer.py; each names the Twisted test it follows where there
// is one.

var (
	errTerminal     = errors.New("terminal")
	errUntranslated = errors.New("untranslated")
	errTranslated   = errors.New("translated")
)

// dontFail is an error that the cancellation tests' coroutine turns into a
// value (Twisted's DontFail).
type dontFail struct{ actual int }

func (e *dontFail) Error() string { return fmt.Sprintf("dont fail %d", e.actual) }

// coOutcome takes d's result the way trial's successResultOf and
// failureResultOf do: through a callback, which leaves nil behind and so
// handles a failure. fired is false if d has no result yet.
func coOutcome(d *deferred.Deferred) (v any, err error, fired bool) {
	d.AddBoth(func(r any) (any, error) {
		fired = true
		if f, ok := r.(*deferred.Failure); ok {
			err = f
		} else {
			v = r
		}
		return nil, nil
	})
	return v, err, fired
}

func coValue(t *testing.T, d *deferred.Deferred) any {
	t.Helper()
	v, err, fired := coOutcome(d)
	if !fired || err != nil {
		t.Fatalf("want a value, got fired=%v err=%v", fired, err)
	}
	return v
}

func coFailure(t *testing.T, d *deferred.Deferred) *deferred.Failure {
	t.Helper()
	_, err, fired := coOutcome(d)
	if !fired || err == nil {
		t.Fatalf("want a failure, got fired=%v err=%v", fired, err)
	}
	return err.(*deferred.Failure)
}

// coNoResult checks that d has no result, without adding to its chain.
func coNoResult(t *testing.T, d *deferred.Deferred) {
	t.Helper()
	if v, _ := d.Result(); d.Called() && d.Paused() == 0 {
		t.Fatalf("want no result, got %v", v)
	}
}

// coRecover runs f and returns what it panicked with.
func coRecover(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestInlineBasics(t *testing.T) {
	t.Run("values and caught failures", func(t *testing.T) { // testBasics
		thing := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			x, err := c.Await(thing)
			if x != "hi" || err != nil {
				return nil, fmt.Errorf("got %v, %v", x, err)
			}
			_, err = c.Await(deferred.Fail(errors.New("OMG")))
			if err == nil || err.Error() != "OMG" {
				return nil, fmt.Errorf("want OMG, got %v", err)
			}
			return "WOOSH", nil
		})
		coNoResult(t, d)
		thing.Callback("hi")
		if v := coValue(t, d); v != "WOOSH" {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("returned error fails the Deferred", func(t *testing.T) { // testProducesException
		thing := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(thing)
			return nil, errTerminal
		})
		thing.Callback("hi")
		if f := coFailure(t, d); !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("panic fails the Deferred with a PanicError", func(t *testing.T) {
		thing := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(thing)
			panic("boom")
		})
		thing.Callback(nil)
		var pe *deferred.PanicError
		if f := coFailure(t, d); !errors.As(f, &pe) || pe.Value != "boom" {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("panic with an error wraps it", func(t *testing.T) {
		d := deferred.Inline(func(c *deferred.Co) (any, error) { panic(errTerminal) })
		var pe *deferred.PanicError
		if f := coFailure(t, d); !errors.As(f, &pe) || !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("returning nothing fires with nil", func(t *testing.T) { // testNothing
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return nil, nil })
		if v := coValue(t, d); v != nil {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("handled failure of a fired Deferred", func(t *testing.T) { // testHandledTerminalFailure
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			if _, err := c.Await(deferred.Fail(errTerminal)); !errors.Is(err, errTerminal) {
				return nil, err
			}
			return nil, nil
		})
		if v := coValue(t, d); v != nil {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("handled failure fired later", func(t *testing.T) { // testHandledTerminalAsyncFailure
		w := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			if _, err := c.Await(w); !errors.Is(err, errTerminal) {
				return nil, err
			}
			return nil, nil
		})
		w.Errback(errTerminal)
		if v := coValue(t, d); v != nil {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("return after an await", func(t *testing.T) { // test_returnWithValue
		w := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(w)
			return 14, nil
		})
		w.Callback(nil)
		if v := coValue(t, d); v != 14 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("failure is the awaited Deferred's Failure", func(t *testing.T) {
		w := deferred.New()
		var got error
		deferred.Inline(func(c *deferred.Co) (any, error) {
			_, got = c.Await(w)
			return nil, nil
		})
		w.Errback(errTerminal)
		if _, ok := got.(*deferred.Failure); !ok || !errors.Is(got, errTerminal) {
			t.Fatalf("got %T %v", got, got)
		}
	})
}

func TestInlineAwait(t *testing.T) {
	t.Run("fired Deferred does not suspend", func(t *testing.T) {
		after := false
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			v, err := c.Await(deferred.Succeed(1))
			after = true
			return v, err
		})
		if !after || coValue(t, d) != 1 {
			t.Fatal("Await of a fired Deferred suspended the coroutine")
		}
	})
	for _, tc := range []struct {
		name string
		fire func(w *deferred.Deferred)
		// before fires w before the coroutine awaits it.
		before bool
	}{
		{"fired value", func(w *deferred.Deferred) { w.Callback(1) }, true},
		{"fired failure", func(w *deferred.Deferred) { w.Errback(errTerminal) }, true},
		{"later value", func(w *deferred.Deferred) { w.Callback(1) }, false},
		{"later failure", func(w *deferred.Deferred) { w.Errback(errTerminal) }, false},
	} {
		t.Run("awaited result becomes nil: "+tc.name, func(t *testing.T) {
			w := deferred.New()
			if tc.before {
				tc.fire(w)
			}
			deferred.Inline(func(c *deferred.Co) (any, error) {
				c.Await(w)
				return nil, nil
			})
			if !tc.before {
				tc.fire(w)
			}
			// nil, not the failure: nothing is left to report as unhandled.
			if v, err := w.Result(); v != nil || err != nil {
				t.Fatalf("awaited Deferred kept %v, %v", v, err)
			}
		})
	}
	t.Run("awaiting a Deferred that waits on another", func(t *testing.T) {
		inner := deferred.New()
		w := deferred.Succeed(1).AddCallback(func(any) (any, error) { return inner, nil })
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(w) })
		coNoResult(t, d)
		inner.Callback(2)
		if v := coValue(t, d); v != 2 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("awaiting a paused Deferred waits for Unpause", func(t *testing.T) {
		w := deferred.New()
		w.Pause()
		w.Callback(3)
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(w) })
		coNoResult(t, d)
		w.Unpause()
		if v := coValue(t, d); v != 3 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("awaiting a Deferred twice gives nil the second time", func(t *testing.T) {
		w := deferred.Succeed(1)
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			a, _ := c.Await(w)
			b, _ := c.Await(w)
			return []any{a, b}, nil
		})
		if v := fmt.Sprint(coValue(t, d)); v != "[1 <nil>]" {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("callbacks added before Await see the result", func(t *testing.T) {
		w := deferred.New()
		var seen any
		w.AddCallback(func(v any) (any, error) { seen = v; return v, nil })
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(w) })
		w.Callback(5)
		if seen != 5 || coValue(t, d) != 5 {
			t.Fatalf("callback saw %v", seen)
		}
	})
	t.Run("helper functions await on the same Co", func(t *testing.T) {
		ws := []*deferred.Deferred{deferred.New(), deferred.New()}
		add := func(c *deferred.Co, w *deferred.Deferred) (int, error) {
			v, err := c.Await(w)
			if err != nil {
				return 0, err
			}
			return v.(int) + 1, nil
		}
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			a, _ := add(c, ws[0])
			b, _ := add(c, ws[1])
			return a + b, nil
		})
		ws[0].Callback(1)
		ws[1].Callback(2)
		if v := coValue(t, d); v != 5 {
			t.Fatalf("got %v", v)
		}
	})
}

// coStackDepth is the number of frames on the calling goroutine's stack.
func coStackDepth() int {
	var pcs [1024]uintptr
	return runtime.Callers(1, pcs[:])
}

func TestInlineStackUsage(t *testing.T) { // testStackUsage
	const n = 10000
	t.Run("fired Deferreds", func(t *testing.T) {
		var first, last int
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			for i := range n {
				c.Await(deferred.Succeed(1))
				if i == 0 {
					first = coStackDepth()
				}
				last = coStackDepth()
			}
			return 0, nil
		})
		if coValue(t, d) != 0 || first != last {
			t.Fatalf("stack grew from %d to %d frames", first, last)
		}
	})
	t.Run("Deferreds fired one after another", func(t *testing.T) {
		ws := make([]*deferred.Deferred, n)
		for i := range ws {
			ws[i] = deferred.New()
		}
		var first, last int
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			sum := 0
			for i, w := range ws {
				v, _ := c.Await(w)
				sum += v.(int)
				if i == 0 {
					first = coStackDepth()
				}
				last = coStackDepth()
			}
			return sum, nil
		})
		for _, w := range ws {
			w.Callback(1)
		}
		if coValue(t, d) != n || first != last {
			t.Fatalf("stack grew from %d to %d frames", first, last)
		}
	})
}

func TestInlineReturnsDeferred(t *testing.T) {
	t.Run("pending", func(t *testing.T) {
		r := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return r, nil })
		coNoResult(t, d)
		r.Callback(7)
		if v := coValue(t, d); v != 7 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("fired", func(t *testing.T) {
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return deferred.Succeed(8), nil })
		if v := coValue(t, d); v != 8 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("failed", func(t *testing.T) {
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return deferred.Fail(errTerminal), nil })
		if f := coFailure(t, d); !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("callbacks added before it fires run after it", func(t *testing.T) {
		r, w := deferred.New(), deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(w)
			return r, nil
		})
		d.AddCallback(func(v any) (any, error) { return v.(int) * 2, nil })
		w.Callback(nil)
		coNoResult(t, d)
		r.Callback(4)
		if v := coValue(t, d); v != 8 {
			t.Fatalf("got %v", v)
		}
	})
}

// stackedTrace records the order in which stacked coroutines enter and leave
// (Twisted's StackedInlineCallbacksTests).
type stackedTrace struct {
	events  []string
	pending []*deferred.Deferred
	values  []any
}

func (s *stackedTrace) log(format string, args ...any) {
	s.events = append(s.events, fmt.Sprintf(format, args...))
}

// later returns a Deferred that fire will fire with v (an error fails it).
func (s *stackedTrace) later(v any) *deferred.Deferred {
	d := deferred.New()
	s.pending = append(s.pending, d)
	s.values = append(s.values, v)
	return d
}

func (s *stackedTrace) fire() {
	for i := 0; i < len(s.pending); i++ {
		if err, ok := s.values[i].(error); ok {
			s.pending[i].Errback(err)
		} else {
			s.pending[i].Callback(s.values[i])
		}
	}
}

// f1 awaits a Deferred fired later with x and adds 1.
func (s *stackedTrace) f1(x int) *deferred.Deferred {
	return deferred.Inline(func(c *deferred.Co) (any, error) {
		s.log("f1 enter %d", x)
		v, _ := c.Await(s.later(x))
		x = v.(int) + 1
		s.log("f1 exit %d", x)
		return x, nil
	})
}

// f2Plain is an ordinary callback that adds 2.
func (s *stackedTrace) f2Plain(v any) (any, error) {
	x := v.(int)
	s.log("f2 enter %d", x)
	x += 2
	s.log("f2 exit %d", x)
	return x, nil
}

// f2Failing awaits a Deferred fired later with an error.
func (s *stackedTrace) f2Failing(x int) *deferred.Deferred {
	return deferred.Inline(func(c *deferred.Co) (any, error) {
		s.log("f2 enter %d", x)
		if _, err := c.Await(s.later(errTerminal)); err != nil {
			return nil, err
		}
		s.log("f2 exit %d", x)
		return x, nil
	})
}

func TestInlineStacked(t *testing.T) {
	tests := []struct {
		name string
		run  func(s *stackedTrace) *deferred.Deferred
		want int
		log  string
	}{
		{"single yield", func(s *stackedTrace) *deferred.Deferred { // test_nonCalledDeferredSingleYield
			f2 := func(x int) *deferred.Deferred {
				return deferred.Inline(func(c *deferred.Co) (any, error) {
					s.log("f2 enter %d", x)
					v, _ := deferred.Await[int](c, s.f1(x))
					s.log("f2 exit %d", v+2)
					return v + 2, nil
				})
			}
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				s.log("f3 enter 1")
				v, _ := deferred.Await[int](c, f2(1))
				s.log("f3 exit %d", v+4)
				return v + 4, nil
			})
		}, 8, "f3 enter 1, f2 enter 1, f1 enter 1, f1 exit 2, f2 exit 4, f3 exit 8"},
		{"multiple yields", func(s *stackedTrace) *deferred.Deferred { // test_nonCalledDeferredMultipleYields
			f2 := func(x int) *deferred.Deferred {
				return deferred.Inline(func(c *deferred.Co) (any, error) {
					s.log("f2 enter %d", x)
					for range 3 {
						x, _ = deferred.Await[int](c, s.f1(x))
					}
					s.log("f2 exit %d", x+2)
					return x + 2, nil
				})
			}
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				x := 1
				s.log("f3 enter %d", x)
				for range 3 {
					x, _ = deferred.Await[int](c, f2(x))
				}
				s.log("f3 exit %d", x+4)
				return x + 4, nil
			})
		}, 20, "f3 enter 1, f2 enter 1, f1 enter 1, f1 exit 2, f1 enter 2, f1 exit 3, f1 enter 3, f1 exit 4, f2 exit 6, " +
			"f2 enter 6, f1 enter 6, f1 exit 7, f1 enter 7, f1 exit 8, f1 enter 8, f1 exit 9, f2 exit 11, " +
			"f2 enter 11, f1 enter 11, f1 exit 12, f1 enter 12, f1 exit 13, f1 enter 13, f1 exit 14, f2 exit 16, f3 exit 20"},
		{"intermediate callback, no waiting", func(s *stackedTrace) *deferred.Deferred { // test_intermediateAddCallbacksAndNoWaiting
			f1 := func(x int) *deferred.Deferred {
				return deferred.Inline(func(c *deferred.Co) (any, error) {
					s.log("f1 enter %d", x)
					x, _ = deferred.Await[int](c, deferred.Succeed(x))
					s.log("f1 exit %d", x+1)
					return x + 1, nil
				})
			}
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				s.log("f3 enter 1")
				x, _ := deferred.Await[int](c, f1(1).AddCallback(s.f2Plain))
				s.log("f3 exit %d", x+4)
				return x + 4, nil
			})
		}, 8, "f3 enter 1, f1 enter 1, f1 exit 2, f2 enter 2, f2 exit 4, f3 exit 8"},
		{"intermediate callback, waiting on the first await", func(s *stackedTrace) *deferred.Deferred { // test_intermediateAddCallbacksAndWithWaitingFirstYield
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				s.log("f3 enter 1")
				x, _ := deferred.Await[int](c, s.f1(1).AddCallback(s.f2Plain))
				s.log("f3 exit %d", x+4)
				return x + 4, nil
			})
		}, 8, "f3 enter 1, f1 enter 1, f1 exit 2, f2 enter 2, f2 exit 4, f3 exit 8"},
		{"intermediate callback, waiting on the second await", func(s *stackedTrace) *deferred.Deferred { // test_intermediateAddCallbacksAndWithWaitingSecondYield
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				s.log("f3 enter 1")
				x, _ := deferred.Await[int](c, s.f1(1))
				x, _ = deferred.Await[int](c, s.f1(x).AddCallback(s.f2Plain))
				s.log("f3 exit %d", x+4)
				return x + 4, nil
			})
		}, 9, "f3 enter 1, f1 enter 1, f1 exit 2, f1 enter 2, f1 exit 3, f2 enter 3, f2 exit 5, f3 exit 9"},
		{"failure on the first await", func(s *stackedTrace) *deferred.Deferred { // test_raisesExceptionFromDeferredWithWaitingFirstCallback
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				x := 1
				s.log("f3 enter %d", x)
				if _, err := c.Await(s.f2Failing(x)); !errors.Is(err, errTerminal) {
					return nil, fmt.Errorf("want errTerminal, got %v", err)
				}
				s.log("f3 exit %d", x+4)
				return x + 4, nil
			})
		}, 5, "f3 enter 1, f2 enter 1, f3 exit 5"},
		{"failure on the second await", func(s *stackedTrace) *deferred.Deferred { // test_raisesExceptionFromDeferredWithWaitingSecondCallback
			return deferred.Inline(func(c *deferred.Co) (any, error) {
				s.log("f3 enter 1")
				x, _ := deferred.Await[int](c, s.f1(1))
				if _, err := c.Await(s.f2Failing(x)); !errors.Is(err, errTerminal) {
					return nil, fmt.Errorf("want errTerminal, got %v", err)
				}
				s.log("f3 exit %d", x+4)
				return x + 4, nil
			})
		}, 6, "f3 enter 1, f1 enter 1, f1 exit 2, f2 enter 2, f3 exit 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &stackedTrace{}
			d := tc.run(s)
			s.fire()
			if v := coValue(t, d); v != tc.want {
				t.Fatalf("got %v, want %d", v, tc.want)
			}
			if got := strings.Join(s.events, ", "); got != tc.log {
				t.Fatalf("order:\n got %s\nwant %s", got, tc.log)
			}
		})
	}
}

// erroring and calling are named so that the traceback can be checked for
// them (Twisted's ForwardTraceBackTests).
func erroring(c *deferred.Co) (any, error) {
	c.Await(deferred.Succeed("forcing a switch"))
	return nil, errors.New("Error Marker")
}

func calling(c *deferred.Co) (any, error) {
	return c.Await(deferred.Inline(erroring))
}

func TestInlineTraceback(t *testing.T) {
	f := coFailure(t, deferred.Inline(calling))
	tb := f.Traceback()
	if !strings.Contains(tb, "Error Marker") || !strings.Contains(tb, ".erroring") {
		t.Fatalf("traceback does not name the origin:\n%s", tb)
	}
}

// cancelCase sets up Twisted's CancellationTests: G is sample (an Inline
// function), D the Deferred Inline returns, C the Deferred G awaits.
type cancelCase struct {
	// stacked makes G await C through another Inline function.
	stacked bool
	// second makes G await another Deferred, fired before the cancel, first.
	second bool
}

func (cc cancelCase) String() string {
	switch {
	case cc.stacked && cc.second:
		return "stacked on the second await"
	case cc.stacked:
		return "stacked"
	}
	return "direct"
}

var cancelCases = []cancelCase{{}, {stacked: true}, {stacked: true, second: true}}

// sample is G: it awaits child(), translates errUntranslated into
// errTranslated and a *dontFail into its value less 2, and adds 1.
func (cc cancelCase) sample(child func() *deferred.Deferred) *deferred.Deferred {
	first := deferred.New()
	d := deferred.Inline(func(c *deferred.Co) (any, error) {
		var (
			x   int
			err error
		)
		if cc.stacked {
			if cc.second {
				c.Await(first)
			}
			x, err = deferred.Await[int](c, deferred.Inline(func(c *deferred.Co) (any, error) {
				return c.Await(child())
			}))
		} else {
			x, err = deferred.Await[int](c, child())
		}
		var df *dontFail
		switch {
		case errors.Is(err, errUntranslated):
			return nil, errTranslated
		case errors.As(err, &df):
			x = df.actual - 2
		case err != nil:
			return nil, err
		}
		return x + 1, nil
	})
	if cc.second {
		first.Callback(1)
	}
	return d
}

func TestInlineCancellation(t *testing.T) {
	for _, cc := range cancelCases {
		t.Run("cascades to the awaited Deferred, "+cc.String(), func(t *testing.T) { // test_CascadeCancellingOnCancel*
			var childSaw error
			d := cc.sample(func() *deferred.Deferred {
				return deferred.New().AddErrback(func(f *deferred.Failure) (any, error) {
					childSaw = f
					return nil, f
				})
			})
			d.AddErrback(func(*deferred.Failure) (any, error) { return nil, nil })
			d.Cancel()
			if !errors.Is(childSaw, deferred.ErrCancelled) {
				t.Fatalf("child saw %v", childSaw)
			}
		})
		t.Run("fails with ErrCancelled, "+cc.String(), func(t *testing.T) { // test_ErrbackCancelledErrorOnCancel*
			d := cc.sample(deferred.New)
			d.Cancel()
			if f := coFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
				t.Fatalf("got %v", f)
			}
		})
		t.Run("translates the canceller's error, "+cc.String(), func(t *testing.T) { // test_ErrorToErrorTranslation*
			a := deferred.NewWithCanceller(func(d *deferred.Deferred) { d.Errback(errUntranslated) })
			d := cc.sample(func() *deferred.Deferred { return a })
			d.Cancel()
			if f := coFailure(t, d); !errors.Is(f, errTranslated) {
				t.Fatalf("got %v", f)
			}
		})
		t.Run("turns the canceller's error into a value, "+cc.String(), func(t *testing.T) { // test_ErrorToSuccessTranslation*
			a := deferred.NewWithCanceller(func(d *deferred.Deferred) { d.Errback(&dontFail{4321}) })
			d := cc.sample(func() *deferred.Deferred { return a })
			d.Cancel()
			if v := coValue(t, d); v != 4320 {
				t.Fatalf("got %v", v)
			}
		})
		t.Run("waits for the awaited Deferred's chain, "+cc.String(), func(t *testing.T) { // test_AsynchronousCancellation*
			more := deferred.New()
			d := cc.sample(func() *deferred.Deferred {
				return deferred.New().AddErrback(func(f *deferred.Failure) (any, error) {
					if err := f.Trap(deferred.ErrCancelled); err != nil {
						return nil, err
					}
					return more, nil
				})
			})
			d.Cancel()
			coNoResult(t, d)
			more.Callback(6543)
			if v := coValue(t, d); v != 6544 {
				t.Fatalf("got %v", v)
			}
		})
	}
	t.Run("caught cancellation, then cancelled again", func(t *testing.T) { // test_inlineCallbacksCancelCaptured
		var calls1, calls2 []*deferred.Deferred
		d1 := deferred.NewWithCanceller(func(d *deferred.Deferred) { calls1 = append(calls1, d) })
		d2 := deferred.NewWithCanceller(func(d *deferred.Deferred) { calls2 = append(calls2, d) })
		funcD := deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(d1) // the error is ignored: the function goes on
			return c.Await(d2)
		})
		coNoResult(t, funcD)
		funcD.Cancel()
		if len(calls1) != 1 || calls1[0] != d1 || len(calls2) != 0 {
			t.Fatalf("canceller calls %v, %v", calls1, calls2)
		}
		coNoResult(t, funcD)
		funcD.Cancel()
		if f := coFailure(t, funcD); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("got %v", f)
		}
		if len(calls2) != 1 || calls2[0] != d2 {
			t.Fatalf("second canceller calls %v", calls2)
		}
	})
	t.Run("cancel before the awaited Deferred fires, which then fires late", func(t *testing.T) {
		w := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(w) })
		d.Cancel()
		w.Callback("late") // dropped, as for any Deferred cancelled without a canceller
		if f := coFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("cancel after completion does nothing", func(t *testing.T) {
		w := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(w) })
		w.Callback(1)
		d.Cancel()
		if v := coValue(t, d); v != 1 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("cancel while the function runs reaches its next await", func(t *testing.T) {
		var d *deferred.Deferred
		w, trigger := deferred.New(), deferred.New()
		trigger.AddCallback(func(any) (any, error) { d.Cancel(); return nil, nil })
		d = deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(w)
			// Cancels d while the function runs; an Await that does not
			// suspend is not cancelled.
			trigger.Callback(nil)
			v, err := c.Await(deferred.Succeed("fired"))
			if v != "fired" || err != nil {
				return nil, fmt.Errorf("fired await got %v, %v", v, err)
			}
			return c.Await(deferred.New())
		})
		w.Callback(nil)
		if f := coFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("cancel forwards to a returned Deferred", func(t *testing.T) {
		cancelled := false
		r := deferred.NewWithCanceller(func(*deferred.Deferred) { cancelled = true })
		d := deferred.Inline(func(c *deferred.Co) (any, error) { return r, nil })
		d.Cancel()
		if !cancelled {
			t.Fatal("returned Deferred not cancelled")
		}
		if f := coFailure(t, d); !errors.Is(f, deferred.ErrCancelled) {
			t.Fatalf("got %v", f)
		}
	})
}

func TestInlineAwaitOutside(t *testing.T) {
	t.Run("after the function returned", func(t *testing.T) {
		var saved *deferred.Co
		deferred.Inline(func(c *deferred.Co) (any, error) { saved = c; return nil, nil })
		msg := fmt.Sprint(coRecover(func() { saved.Await(deferred.New()) }))
		if !strings.Contains(msg, "outside its Inline function") {
			t.Fatalf("panic: %q", msg)
		}
	})
	t.Run("from another goroutine while suspended", func(t *testing.T) {
		var saved *deferred.Co
		w := deferred.New()
		deferred.Inline(func(c *deferred.Co) (any, error) { saved = c; return c.Await(w) })
		got := make(chan any)
		go func() { got <- coRecover(func() { saved.Await(deferred.New()) }) }()
		if msg := fmt.Sprint(<-got); !strings.Contains(msg, "outside its Inline function") {
			t.Fatalf("panic: %q", msg)
		}
		w.Callback(nil)
	})
	t.Run("from a nested Inline function on the suspended outer Co", func(t *testing.T) {
		w := deferred.New()
		var inner *deferred.Deferred
		outer := deferred.Inline(func(outer *deferred.Co) (any, error) {
			inner = deferred.Inline(func(c *deferred.Co) (any, error) {
				c.Await(w)
				return outer.Await(deferred.New())
			})
			return outer.Await(inner)
		})
		w.Callback(nil)
		var pe *deferred.PanicError
		if f := coFailure(t, outer); !errors.As(f, &pe) || !strings.Contains(pe.Error(), "outside") {
			t.Fatalf("got %v", f)
		}
	})
}

// parkedCoroutines counts the goroutines that run an Inline function. It
// reads every goroutine's stack, so goroutines of other tests that come and
// go meanwhile do not count.
func parkedCoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "deferred.(*Co).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestInlineGoroutines(t *testing.T) {
	const n = 50
	t.Run("a suspended coroutine holds one goroutine until it ends", func(t *testing.T) {
		before := parkedCoroutines()
		ds := make([]*deferred.Deferred, n)
		for i := range ds {
			ds[i] = deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(deferred.New()) })
		}
		if got := parkedCoroutines() - before; got != n {
			t.Fatalf("%d suspended coroutines hold %d goroutines", n, got)
		}
		for _, d := range ds {
			d.Cancel()
			coFailure(t, d)
		}
		if got := parkedCoroutines() - before; got != 0 {
			t.Fatalf("%d goroutines left after the coroutines ended", got)
		}
	})
	t.Run("a finished coroutine holds no goroutine", func(t *testing.T) {
		before := parkedCoroutines()
		for range n {
			w := deferred.New()
			deferred.Inline(func(c *deferred.Co) (any, error) { return c.Await(w) })
			w.Callback(nil)
		}
		if got := parkedCoroutines() - before; got != 0 {
			t.Fatalf("%d goroutines left", got)
		}
	})
}

type coPayload struct{ buf [64]byte }

func TestInlineReleasesFunction(t *testing.T) { // test_inlineCallbacksNoCircularReference
	w := deferred.New()
	var d *deferred.Deferred
	ref := func() weak.Pointer[coPayload] {
		obj := &coPayload{}
		d = deferred.Inline(func(c *deferred.Co) (any, error) {
			c.Await(w)
			return int(obj.buf[0]) + 1, nil
		})
		return weak.Make(obj)
	}()
	runtime.GC()
	if ref.Value() == nil {
		t.Fatal("the suspended coroutine's state was collected")
	}
	w.Callback(nil)
	runtime.GC()
	if ref.Value() != nil {
		t.Fatal("the finished coroutine keeps its function's captured state alive")
	}
	if v := coValue(t, d); v != 1 {
		t.Fatalf("got %v", v)
	}
}

func TestInlineResumedFromAnotherGoroutine(t *testing.T) {
	// Run with -race: the switches order the coroutine's accesses and the
	// loops' accesses even when the loop that resumes it changes.
	w := deferred.New()
	state := 0
	d := deferred.Inline(func(c *deferred.Co) (any, error) {
		state++
		v, _ := c.Await(w)
		state++
		return v, nil
	})
	done := make(chan struct{})
	go func() {
		w.Callback("elsewhere")
		close(done)
	}()
	<-done
	if v := coValue(t, d); v != "elsewhere" || state != 2 {
		t.Fatalf("got %v, state %d", v, state)
	}
}
