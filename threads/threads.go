package threads

import (
	"errors"

	"github.com/twistgo/twist/deferred"
)

// Loop is the door into an event loop that this package needs: a method,
// safe to call from any goroutine, that runs f on the loop's goroutine.
// *reactor.Reactor implements it.
type Loop interface {
	// CallFromThread arranges for f to run on the loop's goroutine soon.
	CallFromThread(f func())
}

// ErrLoopStopped is returned by BlockingCallFromThread when the loop stops
// for good before it has run f, or before the Deferred f returned has fired.
var ErrLoopStopped = errors.New("threads: the loop stopped before the call finished")

var (
	// errGoexit is the error delivered for a function that called
	// runtime.Goexit (t.FailNow in a test, for one) instead of returning.
	errGoexit = errors.New("threads: function called runtime.Goexit")
	// errDeferredResult is the error of DeferToThread when f returns a
	// Deferred: Deferreds belong to a loop, and a worker has none.
	errDeferredResult = errors.New("threads: function run on a worker returned a *deferred.Deferred")
)

// DeferToThread runs f on a worker of the Default pool and returns a
// Deferred that fires on loop with f's result, or fails with its error
// (Twisted's deferToThread). Call it on loop: the Deferred belongs to loop
// and is fired only there, through loop.CallFromThread.
//
// A panic in f fails the Deferred with a *deferred.Failure wrapping a
// *deferred.PanicError and recording where f panicked; it never crashes the
// program. f must not return a *deferred.Deferred, which would belong to no
// loop: the Deferred then fails. If the pool refuses the work (ErrQueueFull,
// ErrStopped), the returned Deferred has already failed with that error.
func DeferToThread(loop Loop, f func() (any, error)) *deferred.Deferred {
	return DeferToThreadPool(loop, Default(), f)
}

// DeferToThreadPool is DeferToThread on the given pool (Twisted's
// deferToThreadPool).
func DeferToThreadPool(loop Loop, pool *Pool, f func() (any, error)) *deferred.Deferred {
	d := deferred.New()
	err := pool.CallInThread(func() {
		callSafely(f, func(v any, err error) {
			if _, ok := v.(*deferred.Deferred); ok && err == nil {
				err = errDeferredResult
			}
			loop.CallFromThread(func() {
				if err != nil {
					d.Errback(err)
				} else {
					d.Callback(v)
				}
			})
		})
	})
	if err != nil {
		d.Errback(err)
	} else if y, ok := loop.(yielder); ok {
		y.YieldBeforeWait()
	}
	return d
}

// yielder is implemented by *reactor.Reactor: told that a worker was given
// work, the loop lets it run before it sleeps in the poller.
type yielder interface{ YieldBeforeWait() }

// CallInThread runs f on a worker of the Default pool (Twisted's
// reactor.callInThread). See Pool.CallInThread.
func CallInThread(f func()) error {
	return Default().CallInThread(f)
}

// CallMultipleInThread runs the functions of fs in order on one worker of
// the Default pool (Twisted's callMultipleInThread). See
// Pool.CallMultipleInThread.
func CallMultipleInThread(fs []func()) error {
	return Default().CallMultipleInThread(fs)
}

// BlockingCallFromThread runs f on loop and waits for its result (Twisted's
// blockingCallFromThread). It is for goroutines outside the loop, such as
// the workers of a pool, that need something only the loop may do.
//
// If f returns a *deferred.Deferred, BlockingCallFromThread waits for it to
// fire and returns its result, or its *deferred.Failure as the error (the
// Failure counts as handled). Otherwise it returns f's value, or nil and
// f's error. A panic in f is recovered on the loop, which goes on, and
// returned as a *deferred.Failure wrapping a *deferred.PanicError. Match
// errors with errors.Is and errors.As, which see through a Failure.
//
// If loop has a Done method that returns a channel closed once the loop has
// stopped for good, as *reactor.Reactor has, BlockingCallFromThread returns
// ErrLoopStopped when the loop stops before it has run f or before f's
// Deferred has fired. Otherwise it waits for ever if loop never runs f, or
// if the Deferred never fires. It must not be called on loop itself, which
// would wait for itself for ever.
func BlockingCallFromThread(loop Loop, f func() (any, error)) (any, error) {
	type outcome struct {
		v   any
		err error
	}
	done := make(chan outcome, 1)
	loop.CallFromThread(func() {
		callSafely(f, func(v any, err error) {
			if err != nil {
				done <- outcome{nil, err}
				return
			}
			d, ok := v.(*deferred.Deferred)
			if !ok || d == nil {
				done <- outcome{v, nil}
				return
			}
			d.AddBoth(func(r any) (any, error) {
				if fl, failed := r.(*deferred.Failure); failed {
					done <- outcome{nil, fl}
				} else {
					done <- outcome{r, nil}
				}
				return nil, nil
			})
		})
	})
	var stopped <-chan struct{} // nil, never ready, for a loop without Done
	if s, ok := loop.(interface{ Done() <-chan struct{} }); ok {
		stopped = s.Done()
	}
	select {
	case o := <-done:
		return o.v, o.err
	case <-stopped:
		// The loop may have delivered the outcome just before it stopped:
		// that send happened before Done was closed, so it is seen here.
		select {
		case o := <-done:
			return o.v, o.err
		default:
			return nil, ErrLoopStopped
		}
	}
}

// callSafely calls f and hands its result to deliver. If f panics, deliver
// gets a Failure recording the panicking stack instead, and the panic
// stops there; if f calls runtime.Goexit, deliver gets errGoexit and the
// goroutine goes on exiting.
func callSafely(f func() (any, error), deliver func(any, error)) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			// The deferred call runs on top of the panicking frames, so the
			// Failure's stack shows where f panicked.
			deliver(nil, deferred.NewFailure(&deferred.PanicError{Value: v}))
			return
		}
		deliver(nil, errGoexit)
	}()
	v, err := f()
	returned = true
	deliver(v, err)
}
