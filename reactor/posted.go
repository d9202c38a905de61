package reactor

import "sync/atomic"

// CallFromThread arranges for f to run on the loop, on its next turn, and
// wakes the loop if it is sleeping in the poller. It is the door into the
// loop from other goroutines, and the only method (with Stop and Running)
// that any goroutine may call. Functions posted by one goroutine run in the
// order they were posted. It never blocks: the queue is a lock-free list,
// and the wake-up costs a system call only when the loop is asleep.
// Functions posted after the reactor has stopped never run.
func (r *Reactor) CallFromThread(f func()) {
	if r.state.Load() == stateStopped {
		// Queued, f would never run, and a goroutine that goes on posting
		// would grow the queue without end.
		return
	}
	r.posted.push(f)
	r.wakeIfSleeping()
}

// wakeIfSleeping wakes the poller if the loop is blocked in it or about to
// be. The Load keeps the common case (loop awake) free of writes to the
// shared cache line; the CompareAndSwap makes one poster, not all, pay for
// the system call.
func (r *Reactor) wakeIfSleeping() {
	if r.sleeping.Load() && r.sleeping.CompareAndSwap(true, false) {
		r.p.wake()
	}
}

// runPosted runs the functions that were posted when it started; functions
// they post wait for the next turn, so that a function re-posting itself
// cannot starve timers and I/O. It reports whether it ran any.
func (r *Reactor) runPosted() bool { return r.runPostedUpTo(r.posted.tail.Load()) }

// runPostedUpTo runs the posted functions up to and including last, the
// queue's tail when runPosted started, and reports whether it ran any.
func (r *Reactor) runPostedUpTo(last *node) bool {
	if last == r.posted.head {
		// Nothing was pending. The loop below stops only when it reaches
		// last, which it never would: a function posted from now on, by a
		// goroutine racing with this check, must wait for the next turn.
		return false
	}
	ran := false
	for {
		n := r.posted.pop()
		if n == nil {
			return ran
		}
		ran = true
		r.stats.posted++
		f := n.f
		n.f = nil
		r.safely("call from thread", f)
		if n == last {
			return true
		}
	}
}

// mpscQueue is Dmitry Vyukov's intrusive multi-producer single-consumer
// queue: a push is one atomic swap and one store, with no lock and no
// retry loop; only the loop pops. The head is a consumed node whose
// successor is the first pending one.
type mpscQueue struct {
	head *node // loop only
	tail atomic.Pointer[node]
	stub node
}

type node struct {
	next atomic.Pointer[node]
	f    func()
}

func (q *mpscQueue) init() {
	q.head = &q.stub
	q.tail.Store(&q.stub)
}

func (q *mpscQueue) push(f func()) {
	n := &node{f: f}
	prev := q.tail.Swap(n)
	prev.next.Store(n)
}

// pop returns the next pending node, or nil if there is none or if the
// producer that swapped it in has not linked it yet (it will be seen on a
// later turn: empty reports false until then, so the loop does not sleep).
func (q *mpscQueue) pop() *node {
	next := q.head.next.Load()
	if next == nil {
		return nil
	}
	q.head = next
	return next
}

// empty reports whether no function is pending, linked or not.
func (q *mpscQueue) empty() bool {
	return q.tail.Load() == q.head
}
