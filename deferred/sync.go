package deferred

import (
	"errors"
	"slices"
)

// waiters is a first-in, first-out line of Deferreds that wait for a token,
// a lock or a value. Cancelling a waiting Deferred takes it out of the line.
type waiters []*Deferred

// add puts a new Deferred at the end of the line and returns it.
func (w *waiters) add() *Deferred {
	d := NewWithCanceller(w.remove)
	*w = append(*w, d)
	return d
}

func (w *waiters) remove(d *Deferred) {
	if i := slices.Index(*w, d); i >= 0 {
		*w = slices.Delete(*w, i, i+1)
	}
}

// next takes the first Deferred out of the line, or returns nil.
func (w *waiters) next() *Deferred {
	if len(*w) == 0 {
		return nil
	}
	d := (*w)[0]
	(*w)[0] = nil
	*w = (*w)[1:]
	return d
}

// tokens counts the holders of a Lock or a Semaphore and lines up those that
// wait for one.
type tokens struct {
	held    int
	waiting waiters
}

// acquire returns a Deferred that fires with owner once a token is free.
func (t *tokens) acquire(owner any, limit int) *Deferred {
	if t.held < limit {
		t.held++
		return Succeed(owner)
	}
	return t.waiting.add()
}

// release hands the token to the first waiter, or frees it.
func (t *tokens) release(owner any, tooMany string) {
	if t.held == 0 {
		panic(tooMany)
	}
	if d := t.waiting.next(); d != nil {
		d.Callback(owner)
		return
	}
	t.held--
}

// run acquires, calls f through Maybe, and releases when f's result fires.
func run(acquire func() *Deferred, release func(), f func() (any, error)) *Deferred {
	return acquire().AddCallback(func(any) (any, error) {
		return Maybe(f).AddBoth(func(result any) (any, error) {
			release()
			return result, nil
		}), nil
	})
}

// A Lock is a lock for code on one loop, where waiting must not block
// (Twisted's DeferredLock): Acquire returns a Deferred that fires when the
// lock is held. Waiters get the lock in the order they asked for it. The zero
// value is an unlocked Lock.
type Lock struct {
	t tokens
}

// Acquire returns a Deferred that fires with l once the caller holds the
// lock: at once if l is unlocked. Cancelling it before it fires gives up the
// place in line, and it fails with ErrCancelled; cancelling it after has no
// effect.
func (l *Lock) Acquire() *Deferred { return l.t.acquire(l, 1) }

// Release releases l, passing it to the first waiter if there is one. It
// panics if l is not locked.
func (l *Lock) Release() { l.t.release(l, "deferred: Release of an unlocked Lock") }

// Locked reports whether l is held.
func (l *Lock) Locked() bool { return l.t.held > 0 }

// Run calls f with l held and releases l when f's result fires, whether it
// succeeds or fails. f is called through Maybe, so it may return a *Deferred,
// fail or panic. The returned Deferred fires with f's result.
func (l *Lock) Run(f func() (any, error)) *Deferred { return run(l.Acquire, l.Release, f) }

// A Semaphore lets a limited number of holders in at once, for code on one
// loop where waiting must not block (Twisted's DeferredSemaphore). Waiters get
// a token in the order they asked for it.
type Semaphore struct {
	limit int
	t     tokens
}

// NewSemaphore returns a Semaphore with the given number of tokens. It panics
// if tokens is less than 1.
func NewSemaphore(tokens int) *Semaphore {
	if tokens < 1 {
		panic("deferred: NewSemaphore needs at least one token")
	}
	return &Semaphore{limit: tokens}
}

// Acquire returns a Deferred that fires with s once the caller holds a token:
// at once if one is free. Cancelling it before it fires gives up the place in
// line, and it fails with ErrCancelled; cancelling it after has no effect.
func (s *Semaphore) Acquire() *Deferred { return s.t.acquire(s, s.limit) }

// Release gives a token back, passing it to the first waiter if there is
// one. It panics if no token is held.
func (s *Semaphore) Release() {
	s.t.release(s, "deferred: Semaphore released more times than acquired")
}

// Tokens returns the number of free tokens.
func (s *Semaphore) Tokens() int { return s.limit - s.t.held }

// Limit returns the number of tokens s was made with.
func (s *Semaphore) Limit() int { return s.limit }

// Run calls f holding a token and releases it when f's result fires, whether
// it succeeds or fails. f is called through Maybe, so it may return a
// *Deferred, fail or panic. The returned Deferred fires with f's result.
func (s *Semaphore) Run(f func() (any, error)) *Deferred { return run(s.Acquire, s.Release, f) }

// Unlimited, as the size or the backlog of NewQueue, sets no limit.
const Unlimited = -1

var (
	// ErrQueueOverflow is the error of Queue.Put on a full Queue that no
	// Get waits on (Twisted's QueueOverflow).
	ErrQueueOverflow = errors.New("deferred: queue overflow")
	// ErrQueueUnderflow is the failure of Queue.Get on an empty Queue whose
	// backlog of waiting Gets is full (Twisted's QueueUnderflow).
	ErrQueueUnderflow = errors.New("deferred: queue underflow")
)

// A Queue passes values from producers to consumers on one loop, where
// waiting must not block (Twisted's DeferredQueue): Get returns a Deferred
// that fires with the next value. Values and waiting Gets are both served
// first in, first out, and both are bounded.
type Queue struct {
	size, backlog int
	pending       []any
	waiting       waiters
}

// NewQueue returns a Queue that holds up to size values that no Get waits
// for, and up to backlog Gets waiting for a value. Unlimited (or any negative
// number) sets no limit.
func NewQueue(size, backlog int) *Queue {
	return &Queue{size: size, backlog: backlog}
}

// Put gives v to the first waiting Get, or else keeps it for a later one. It
// returns ErrQueueOverflow if no Get waits and q already holds size values.
func (q *Queue) Put(v any) error {
	if d := q.waiting.next(); d != nil {
		d.Callback(v)
		return nil
	}
	if q.size >= 0 && len(q.pending) >= q.size {
		return ErrQueueOverflow
	}
	q.pending = append(q.pending, v)
	return nil
}

// Get returns a Deferred that fires with the next value: at once if q holds
// one. If q is empty and backlog Gets already wait, the Deferred has failed
// with ErrQueueUnderflow; a failure rather than a second result, so that Get
// composes with callbacks and Await like any call that returns a Deferred.
// Cancelling a waiting Get gives up its place in line, and it fails with
// ErrCancelled.
func (q *Queue) Get() *Deferred {
	if len(q.pending) > 0 {
		v := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		return Succeed(v)
	}
	if q.backlog >= 0 && len(q.waiting) >= q.backlog {
		return Fail(ErrQueueUnderflow)
	}
	return q.waiting.add()
}

// Len returns the number of values q holds that no Get has taken yet.
func (q *Queue) Len() int { return len(q.pending) }

// Waiting returns the number of Gets waiting for a value.
func (q *Queue) Waiting() int { return len(q.waiting) }
