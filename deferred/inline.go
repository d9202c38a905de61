package deferred

import "iter"

// A Co is the handle of a coroutine started by Inline: the function receives
// it and awaits Deferreds through it. Functions it calls may take the Co and
// await too, without an Inline of their own. A Co is valid only while its
// function runs, on the coroutine's own goroutine.
type Co struct {
	f     func(*Co) (any, error)
	next  func() (struct{}, bool)
	yield func(struct{}) bool
	// target is the Deferred that f's result fires. Each Cancel while the
	// coroutine runs makes the previous target wait on a new one.
	target *Deferred
	// awaiting is the Deferred the suspended coroutine waits on, and result
	// what it fired with (a value or a *Failure).
	awaiting *Deferred
	result   any
	ret      any
	err      error
	state    coState
	// cancelPending records a Cancel that came while the coroutine ran;
	// it cancels the next Deferred the coroutine suspends on.
	cancelPending bool
	// resumeFn and cancelFn are the bound methods, made once so that each
	// Await and each Cancel does not allocate a new closure.
	resumeFn Callback
	cancelFn func(*Deferred)
}

type coState uint8

const (
	coRunning coState = iota
	coSuspended
	coDone
)

// errAwaitOutside is the panic of an Await made outside its coroutine.
const errAwaitOutside = "deferred: Await called outside its Inline function " +
	"(from another goroutine, from another Inline function, or after the function returned)"

// Inline runs f as a coroutine and returns a Deferred that fires with what f
// returns: Twisted's inlineCallbacks. Inside f, c.Await(d) suspends f until d
// fires and returns d's result, so that asynchronous code reads as sequential
// code:
//
//	d := deferred.Inline(func(c *deferred.Co) (any, error) {
//		body, err := c.Await(makeRequest("GET", "/users"))
//		if err != nil {
//			return nil, err
//		}
//		return parseUsers(body.([]byte))
//	})
//
// f starts at once: Inline runs it until it returns or awaits a Deferred that
// has not fired, and then returns. Each time an awaited Deferred fires, f
// resumes on the goroutine that fired it (the loop) and runs until its next
// such Await. f and the loop's callbacks therefore never run at the same
// time: the loop waits while f runs, and f waits while the loop runs.
// Awaiting a Deferred that has already fired does not suspend.
//
// The returned Deferred fires with f's value, fails with f's error, or fails
// with a *PanicError if f panics. If f returns a *Deferred, the returned
// Deferred waits for it, as when a callback returns one.
//
// Cancelling the returned Deferred while f waits on a Deferred cancels that
// Deferred: f's Await then usually returns ErrCancelled (or whatever that
// Deferred's canceller failed it with), and f decides what happens next; if it
// returns the error, the returned Deferred fails with it. A Cancel while f
// runs (from a callback that f triggered) is delivered the same way at f's
// next Await that suspends. Cancelling after f returned does nothing.
//
// f runs on a goroutine of its own that the Go runtime switches to and from
// directly (iter.Pull), without the scheduler. A coroutine whose awaited
// Deferred never fires stays parked forever: its goroutine, a few KiB of
// stack, and what that stack references are never freed. Nothing else is
// held for it, and it is never unwound behind the loop's back, since that
// would run f's deferred calls off the loop; cancel the returned Deferred to
// make f return. The runtime requires a coroutine to be resumed under the
// OS-thread locking (runtime.LockOSThread) it was started under: f started on
// a locked loop must be resumed by that loop.
func Inline(f func(c *Co) (any, error)) *Deferred {
	c := &Co{f: f}
	c.resumeFn = c.resume
	c.cancelFn = c.cancel
	c.target = NewWithCanceller(c.cancelFn)
	d := c.target
	// stop is never called: a finished coroutine needs none, and a parked one
	// is not unwound (see above).
	c.next, _ = iter.Pull(c.run)
	c.step()
	return d
}

// Await suspends the calling Inline function until d fires, and returns d's
// result: its value, or nil and the *Failure (which errors.Is and errors.As
// see through). The failure counts as handled, and d's own result becomes
// nil, as in Twisted: add callbacks to d before awaiting it if something else
// needs its result. If d has already fired, Await returns at once.
//
// Await panics if it is not called by the Inline function that received c,
// while that function runs.
func (c *Co) Await(d *Deferred) (any, error) {
	if c.state != coRunning {
		panic(errAwaitOutside)
	}
	if !settled(d) && c.cancelPending {
		c.cancelPending = false
		d.Cancel()
	}
	var result any
	if settled(d) {
		result = d.result
		d.result = nil
		d.markHandled()
	} else {
		c.awaiting = d
		d.AddBoth(c.resumeFn)
		c.state = coSuspended
		c.yield(struct{}{})
		result = c.result
		c.result = nil
	}
	if f, ok := result.(*Failure); ok {
		return nil, f
	}
	return result, nil
}

// settled reports whether d holds its final result, so that adding a callback
// to it would run at once.
func settled(d *Deferred) bool {
	return d.called && d.paused == 0 && !d.running
}

// run is the body of the coroutine.
func (c *Co) run(yield func(struct{}) bool) {
	c.yield = yield
	defer func() {
		if r := recover(); r != nil {
			c.err = panicFailure(r)
		}
	}()
	c.ret, c.err = c.f(c)
	if c.err != nil {
		c.err = failureFrom(c.err, c.f)
	}
}

// resume is the callback on the awaited Deferred: it hands the result to the
// coroutine and leaves nil behind, which handles a failure.
func (c *Co) resume(result any) (any, error) {
	c.awaiting = nil
	c.result = result
	c.step()
	return nil, nil
}

// step switches to the coroutine until it suspends or returns, and fires the
// target when it has returned.
func (c *Co) step() {
	c.state = coRunning
	if _, suspended := c.next(); suspended {
		return
	}
	c.state = coDone
	if c.err != nil {
		c.target.fire(c.err)
		return
	}
	c.target.fire(c.ret)
}

// cancel is the canceller of the target t. It keeps t from failing at once:
// t waits on a fresh target that the coroutine's result will fire, then the
// Deferred the coroutine waits on is cancelled, so that the coroutine sees
// the cancellation and chooses the outcome.
func (c *Co) cancel(t *Deferred) {
	next := NewWithCanceller(c.cancelFn)
	c.target = next
	t.fire(next)
	if c.state == coSuspended {
		c.awaiting.Cancel()
	} else {
		c.cancelPending = true
	}
}
