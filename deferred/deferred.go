package deferred

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/twistgo/twist/clock"
)

// Callback is a function in a Deferred's callback chain. It receives the
// current result and returns the next one: a non-nil error switches the chain
// to the errback path, and a *Deferred value pauses the chain until that
// Deferred fires, then goes on with its result.
type Callback func(result any) (any, error)

// Errback is a function in a Deferred's errback chain. Returning a value with
// a nil error resumes the callback path; returning an error (the Failure
// itself, to pass it on) stays on the errback path.
type Errback func(f *Failure) (any, error)

var (
	// ErrAlreadyCalled is the value of the panic raised by firing a Deferred
	// twice (Twisted's AlreadyCalledError).
	ErrAlreadyCalled = errors.New("deferred: already called")
	// ErrCancelled is the error of a Deferred cancelled without a canceller
	// of its own that fired it (Twisted's CancelledError).
	ErrCancelled = errors.New("deferred: cancelled")
	// ErrTimeout matches, with errors.Is, every *TimeoutError.
	ErrTimeout = errors.New("deferred: timed out")
	// errSelfResult is the error of a callback that returned its own Deferred.
	errSelfResult = errors.New("deferred: callback returned the Deferred it was added to")
)

// TimeoutError is the error of a Deferred that AddTimeout cancelled
// (Twisted's TimeoutError).
type TimeoutError struct {
	// Timeout is the time-out that expired.
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("deferred: timed out after %v", e.Timeout)
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// A Deferred is a result that is not there yet: Twisted's Deferred. Code that
// will produce the result fires it once with Callback or Errback; code that
// wants the result adds callbacks and errbacks, which run in order when it
// fires (at once, if it already has).
//
// A Deferred belongs to one loop: it is not safe for concurrent use, and its
// callbacks run on the goroutine that fires it or adds them.
//
// A Deferred whose result is still a failure when it becomes unreachable
// reports "Unhandled error in Deferred" through log/slog.
type Deferred struct {
	// result is the current result: a value, a *Failure, or, while the chain
	// waits on another Deferred, that *Deferred.
	result any
	// cbs[head:] are the pending callback pairs; consumed entries before head
	// are cleared, and the slice is reused once all are consumed.
	cbs       []pair
	head      int
	inline    [2]pair
	canceller func(*Deferred)
	// chainedTo is the Deferred this one waits on, for String (Twisted's
	// _chainedTo); Cancel forwards through the result instead.
	chainedTo *Deferred
	unhandled *unhandled
	debug     *debugInfo // debug mode's stacks, nil outside it
	paused    int
	called    bool
	running   bool
	// cancelWaits makes Cancel leave d waiting when its canceller did not
	// fire it: a List's canceller only cancels its members, and the List
	// fires when they have (Twisted's DeferredList.cancel).
	cancelWaits bool
	// suppressAlreadyCalled eats one late fire after a Cancel without
	// canceller, so that the operation may still complete harmlessly.
	suppressAlreadyCalled bool
}

// pair is one step of the chain. A pair with a chainee hands the result on to
// that Deferred, which waits on this one; a pair with both set calls cb on
// either path.
type pair struct {
	cb      Callback
	eb      Errback
	chainee *Deferred
	both    bool
}

// New returns a Deferred that has not fired.
func New() *Deferred { return (&Deferred{}).noteCreated() }

// NewWithCanceller returns a Deferred whose Cancel calls canceller with it.
// A canceller stops the operation that would fire the Deferred; it may fire
// the Deferred itself, and if it does not, Cancel fails it with ErrCancelled.
func NewWithCanceller(canceller func(d *Deferred)) *Deferred {
	return (&Deferred{canceller: canceller}).noteCreated()
}

// Succeed returns a Deferred that has fired with v.
func Succeed(v any) *Deferred {
	d := (&Deferred{}).noteCreated()
	d.Callback(v)
	return d
}

// Fail returns a Deferred that has failed with err.
func Fail(err error) *Deferred {
	d := (&Deferred{}).noteCreated()
	d.fire(newFailure(err, 3))
	return d
}

// AddCallbacks adds a callback and an errback at the same step of the chain:
// cb runs if the result at that step is a success, eb if it is a failure, and
// never both (unlike AddCallback(cb).AddErrback(eb), whose errback also sees
// failures of cb). A nil cb or eb passes the result on. It returns d.
func (d *Deferred) AddCallbacks(cb Callback, eb Errback) *Deferred {
	return d.add(pair{cb: cb, eb: eb})
}

// AddCallback adds a callback that runs on the success path. It returns d.
func (d *Deferred) AddCallback(cb Callback) *Deferred {
	return d.add(pair{cb: cb})
}

// AddErrback adds an errback that runs on the failure path. It returns d.
func (d *Deferred) AddErrback(eb Errback) *Deferred {
	return d.add(pair{eb: eb})
}

// AddBoth adds f as both callback and errback: it receives either the value
// or the *Failure. Returning the *Failure as the value keeps the chain on the
// errback path. It returns d.
func (d *Deferred) AddBoth(f Callback) *Deferred {
	return d.add(pair{cb: f, both: true})
}

func (d *Deferred) add(p pair) *Deferred {
	d.push(p)
	if d.called {
		d.runCallbacks()
	}
	return d
}

// push appends p to the pending pairs. The first ones go into the
// Deferred's own array: most Deferreds get one or two callbacks, and this
// saves allocating a slice for them.
func (d *Deferred) push(p pair) {
	if d.cbs == nil {
		d.cbs = d.inline[:0]
	}
	d.cbs = append(d.cbs, p)
}

// Callback fires d with a successful result v. It panics with
// ErrAlreadyCalled if d has fired, and if v is a *Deferred: to make one
// Deferred wait on another, return it from a callback or use Chain.
// A *Failure as v fires the errback path.
func (d *Deferred) Callback(v any) {
	if _, ok := v.(*Deferred); ok {
		panic("deferred: Callback with a *Deferred; return it from a callback or use Chain")
	}
	d.fire(v)
}

// Errback fires d with a failure. An err that is not a *Failure is wrapped in
// one that records the caller's stack. It panics with ErrAlreadyCalled if d has
// fired, and if err is nil.
func (d *Deferred) Errback(err error) {
	d.fire(newFailure(err, 3))
}

// fire fires d with result; unlike Callback it takes a *Deferred, which d
// then waits on.
func (d *Deferred) fire(result any) {
	if d.called {
		if d.suppressAlreadyCalled {
			d.suppressAlreadyCalled = false
			return
		}
		panic(d.alreadyCalled())
	}
	d.noteFired()
	d.called = true
	d.result = result
	// The canceller is of no more use; dropping it frees what it holds.
	d.canceller = nil
	d.runCallbacks()
}

// Called reports whether d has been fired.
func (d *Deferred) Called() bool { return d.called }

// Result returns d's current result: the value, or nil and the *Failure. It
// is (nil, nil) before d fires, and the *Deferred being waited on while the
// chain is paused on one. Reading the result does not handle a failure.
func (d *Deferred) Result() (any, error) {
	if f, ok := d.result.(*Failure); ok {
		return nil, f
	}
	return d.result, nil
}

// Pause stops d's callbacks from running until a matching Unpause.
// Pauses are counted.
func (d *Deferred) Pause() { d.paused++ }

// Unpause undoes one Pause; when none remain, the pending callbacks of a
// fired Deferred run. It panics if d is not paused by Pause: the pause of a
// Deferred that waits on another, whose callback returned a Deferred, is not
// Unpause's to undo (Twisted does not check, and such an unpause corrupts
// the chain).
func (d *Deferred) Unpause() {
	waits := 0
	if _, ok := d.result.(*Deferred); ok && d.called {
		waits = 1
	}
	if d.paused <= waits {
		panic("deferred: Unpause of a Deferred that is not paused")
	}
	d.paused--
	if d.paused == 0 && d.called {
		d.runCallbacks()
	}
}

// Paused reports how many Pause calls are not yet matched by Unpause.
func (d *Deferred) Paused() int { return d.paused }

// Cancel asks for d's result to be abandoned. If d has not fired, its
// canceller runs; if that does not fire d, or there is none, d fails with
// ErrCancelled (and, without a canceller, one later fire by the original
// operation is silently dropped). If d waits on another Deferred, that one is
// cancelled instead. Cancelling a fired Deferred does nothing.
func (d *Deferred) Cancel() {
	if !d.called {
		if d.canceller != nil {
			d.canceller(d)
		} else {
			d.suppressAlreadyCalled = true
		}
		if !d.called && !d.cancelWaits {
			d.fire(newFailure(ErrCancelled, 3))
		}
	} else if inner, ok := d.result.(*Deferred); ok {
		inner.Cancel()
	}
}

// Chain makes other fire with d's result at this point of d's chain, after
// which d's result is nil (Twisted's chainDeferred). As in Twisted,
// cancelling other does not cancel d, and unlike returning a Deferred from a
// callback, long chains built with Chain recurse once per link. It returns d.
func (d *Deferred) Chain(other *Deferred) *Deferred {
	other.chainedTo = d
	return d.AddCallbacks(func(v any) (any, error) {
		other.Callback(v)
		return nil, nil
	}, func(f *Failure) (any, error) {
		other.fire(f)
		return nil, nil
	})
}

// AddTimeout cancels d if it has not fired within timeout on clk, and turns
// the resulting ErrCancelled failure into a *TimeoutError. The time-out covers
// the callbacks added before AddTimeout, not those added after.
//
// If onTimeout is not nil it replaces that translation: it runs only when d
// timed out, with the result at that point (usually the ErrCancelled
// *Failure) and the time-out, and its return is the new result.
// It returns d.
func (d *Deferred) AddTimeout(timeout time.Duration, clk clock.Clock, onTimeout func(result any, timeout time.Duration) (any, error)) *Deferred {
	timedOut := false
	call := clk.CallLater(timeout, func() {
		timedOut = true
		d.Cancel()
	})
	return d.AddBoth(func(result any) (any, error) {
		if call.Active() {
			call.Cancel()
		}
		if !timedOut {
			return result, nil
		}
		if onTimeout != nil {
			return onTimeout(result, timeout)
		}
		if f, ok := result.(*Failure); ok {
			if err := f.Trap(ErrCancelled); err != nil {
				return nil, err
			}
			return nil, &TimeoutError{Timeout: timeout}
		}
		return result, nil
	})
}

// String describes d and its state, as Twisted's repr does.
func (d *Deferred) String() string {
	switch {
	case d.chainedTo != nil:
		return fmt.Sprintf("<Deferred at %p waiting on Deferred at %p>", d, d.chainedTo)
	case !d.called:
		return fmt.Sprintf("<Deferred at %p>", d)
	default:
		return fmt.Sprintf("<Deferred at %p current result: %v>", d, d.result)
	}
}

// runCallbacks runs the pending callbacks of d, and of the Deferreds waiting
// on it, without recursion: a chain of Deferreds handing results to each other
// is walked with an explicit stack, so that thousands of them run in constant
// Go stack.
func (d *Deferred) runCallbacks() {
	if d.running {
		// Already running further up the stack; that loop picks up new pairs.
		return
	}
	var buf [4]*Deferred
	chain := append(buf[:0], d)
	for len(chain) > 0 {
		cur := chain[len(chain)-1]
		if cur.paused > 0 {
			return
		}
		finished := true
		cur.chainedTo = nil
		// A Deferred fired with a *Deferred (only Inline does so) waits on it
		// as if a callback had returned it.
		waiting := cur.adopt(nil)
		for !waiting && cur.head < len(cur.cbs) {
			p := cur.cbs[cur.head]
			cur.cbs[cur.head] = pair{}
			cur.head++
			if p.chainee != nil {
				// Hand the result to the Deferred that waits on this one and
				// process it before finishing this one.
				p.chainee.result = cur.result
				cur.result = nil
				cur.markHandled()
				p.chainee.paused--
				chain = append(chain, p.chainee)
				finished = false
				break
			}
			cur.result = cur.call(p)
			waiting = cur.adopt(pickFunc(p))
		}
		if finished {
			if cur.head == len(cur.cbs) {
				cur.cbs = cur.cbs[:0]
				cur.head = 0
			}
			if f, ok := cur.result.(*Failure); ok {
				cur.markFailed(f)
			} else {
				cur.markHandled()
			}
			chain = chain[:len(chain)-1]
		}
	}
}

// adopt deals with a *Deferred result: it takes the result of one that has
// fired, or makes d wait on it and reports true. fn is the callback that
// returned it, for the error of a callback that returned d itself.
func (d *Deferred) adopt(fn any) (waiting bool) {
	inner, ok := d.result.(*Deferred)
	if !ok {
		return false
	}
	if inner == d {
		d.result = failureFrom(errSelfResult, fn)
		return false
	}
	if _, innerWaits := inner.result.(*Deferred); !inner.called || innerWaits || inner.paused > 0 {
		// inner hands its result back through a chainee pair.
		d.paused++
		d.chainedTo = inner
		inner.push(pair{chainee: d})
		return true
	}
	d.result = inner.result
	inner.result = nil
	inner.markHandled()
	return false
}

// call runs one step with the current result, turning an error or a panic
// into a *Failure.
func (d *Deferred) call(p pair) (result any) {
	d.running = true
	defer func() {
		d.running = false
		if r := recover(); r != nil {
			result = panicFailure(r)
		}
	}()
	var (
		v   any
		err error
		fn  any
	)
	if f, failed := d.result.(*Failure); failed {
		switch {
		case p.both:
			v, err = p.cb(f)
			fn = p.cb
		case p.eb != nil:
			v, err = p.eb(f)
			fn = p.eb
		default:
			return f
		}
	} else {
		if p.cb == nil {
			return d.result
		}
		v, err = p.cb(d.result)
		fn = p.cb
	}
	if err != nil {
		return failureFrom(err, fn)
	}
	return v
}

func pickFunc(p pair) any {
	if p.cb != nil {
		return p.cb
	}
	return p.eb
}

// funcPC returns the entry of the function value fn, or 0.
func funcPC(fn any) uintptr {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return 0
	}
	return v.Pointer()
}
