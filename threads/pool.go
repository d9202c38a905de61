package threads

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/twistgo/twist/deferred"
)

const (
	// DefaultMax is the maximum number of workers of the Default pool, the
	// size of Twisted's reactor thread pool.
	DefaultMax = 10
	// DefaultQueueLimit is the queue limit of a new Pool: how many functions
	// may wait for a worker before CallInThread refuses more. It absorbs
	// bursts, yet a producer that outruns the workers for good fails fast
	// instead of growing the queue without end.
	DefaultQueueLimit = 10000
)

var (
	// ErrStopped is returned for work given to a pool after Stop.
	ErrStopped = errors.New("threads: pool stopped")
	// ErrQueueFull is returned for work given to a pool whose workers are
	// all busy and whose queue holds as many functions as its limit allows.
	ErrQueueFull = errors.New("threads: pool queue full")
)

// Pool is a bounded pool of worker goroutines: Twisted's ThreadPool. It is
// safe for concurrent use.
//
// Workers start on demand, one for each function given while no worker is
// idle, up to the pool's maximum; beyond it, functions wait in a FIFO queue
// of bounded length. A pool keeps at least its minimum of workers, started by
// NewPool and SetSize. As in Twisted, an idle worker does not exit on its own
// after some time: it waits for work until SetSize lowers the maximum below
// the number of workers, or until Stop. Idle goroutines are cheap, and a pool
// that does not shrink by itself behaves the same in tests as in production.
type Pool struct {
	mu       sync.Mutex
	min, max int
	limit    int
	// queue holds the functions that no worker has taken yet. It is empty
	// whenever idle is not: a worker goes idle only if there is no work.
	queue []func()
	// idle are the workers waiting for work on their channels.
	idle []*worker
	// workers counts the workers started and not yet told to exit.
	workers int
	stopped bool
	wg      sync.WaitGroup
}

// worker is a goroutine of a pool; an idle worker waits on jobs for its next
// function, or for nil, which tells it to exit.
type worker struct {
	jobs chan func()
}

// NewPool returns a running pool with min workers started, which starts more
// on demand up to max. A pool with a max of 0 runs nothing until SetSize
// raises it: functions given to it wait in its queue. NewPool panics if min
// is negative or greater than max.
func NewPool(min, max int) *Pool {
	checkSize(min, max)
	p := &Pool{min: min, max: max, limit: DefaultQueueLimit}
	p.mu.Lock()
	p.growLocked()
	p.mu.Unlock()
	return p
}

func checkSize(min, max int) {
	if min < 0 || min > max {
		panic(fmt.Sprintf("threads: invalid pool size: min %d, max %d", min, max))
	}
}

var (
	defaultOnce sync.Once
	defaultPool *Pool
)

// Default returns the process-wide pool that DeferToThread and CallInThread
// use, made on first use with no minimum and a maximum of DefaultMax
// workers. Adjust it with SetSize (Twisted's suggestThreadPoolSize). It is
// shared by every loop of the process, since a worker goroutine belongs to no
// loop, and the package never stops it: stopping it makes every later
// DeferToThread fail with ErrStopped.
func Default() *Pool {
	defaultOnce.Do(func() { defaultPool = NewPool(0, DefaultMax) })
	return defaultPool
}

// SetSize changes the minimum and maximum number of workers (Twisted's
// adjustPoolsize). Raising them starts workers at once: for queued work,
// then up to the minimum. Lowering the maximum stops idle workers at once
// and busy ones when they finish their function. On a stopped pool it only
// records the sizes. SetSize panics if min is negative or greater than max.
func (p *Pool) SetSize(min, max int) {
	checkSize(min, max)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.min, p.max = min, max
	if p.stopped {
		return
	}
	for p.workers > p.max && len(p.idle) > 0 {
		p.popIdle() <- nil
		p.workers--
	}
	p.growLocked()
}

// Size returns the minimum and maximum number of workers.
func (p *Pool) Size() (min, max int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.min, p.max
}

// SetQueueLimit sets how many functions may wait in the queue for a worker;
// past it, CallInThread returns ErrQueueFull. A limit of 0 accepts work only
// when a worker can start it at once. Lowering the limit drops no queued
// work. SetQueueLimit panics if n is negative.
func (p *Pool) SetQueueLimit(n int) {
	if n < 0 {
		panic(fmt.Sprintf("threads: negative queue limit %d", n))
	}
	p.mu.Lock()
	p.limit = n
	p.mu.Unlock()
}

// Stats is a snapshot of a pool's state (Twisted's workers, working, waiters
// and q.qsize).
type Stats struct {
	// Workers is the number of worker goroutines, busy or idle.
	Workers int
	// Busy is the number of workers that run a function or are about to.
	Busy int
	// Idle is the number of workers waiting for work.
	Idle int
	// Queued is the number of functions waiting for a worker.
	Queued int
}

// Stats returns a snapshot of p's state.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Workers: p.workers,
		Busy:    p.workers - len(p.idle),
		Idle:    len(p.idle),
		Queued:  len(p.queue),
	}
}

// CallInThread arranges for f to run on one of p's workers. It returns
// ErrStopped after Stop, and ErrQueueFull if all max workers are busy and
// the queue is full; otherwise f runs exactly once, even if Stop is called
// meanwhile. A panic in f is recovered and logged through log/slog, as
// Twisted logs an exception raised by a function given to callInThread; the
// worker goes on.
func (p *Pool) CallInThread(f func()) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.stopped:
		return ErrStopped
	case len(p.idle) > 0:
		p.popIdle() <- f
	case p.workers < p.max:
		p.startLocked(f)
	case len(p.queue) >= p.limit:
		return ErrQueueFull
	default:
		p.queue = append(p.queue, f)
	}
	return nil
}

// CallMultipleInThread arranges for the functions of fs to run one after the
// other, in order, on a single worker (Twisted's callMultipleInThread). A
// panic in one of them stops the rest. Errors are those of CallInThread.
func (p *Pool) CallMultipleInThread(fs []func()) error {
	return p.CallInThread(func() {
		for _, f := range fs {
			f()
		}
	})
}

// Stop makes p refuse new work, waits until the functions already given to
// it, queued ones included, have run, and returns once every worker has
// exited (Twisted's ThreadPool.stop at reactor shutdown). A queue that a
// maximum of 0 left without workers is run by one worker started for it.
// Stop may be called more than once, and from any goroutine but a worker of
// p, where it would wait for itself. It blocks: on a loop, use StopDeferred.
func (p *Pool) Stop() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		for len(p.idle) > 0 {
			p.popIdle() <- nil
			p.workers--
		}
		p.growLocked()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// StopDeferred stops p without blocking loop: it runs Stop on a goroutine of
// its own and returns a Deferred, made on loop, that fires with nil on loop
// once Stop has returned. Call it on loop; returned from a "before shutdown"
// system event trigger, it makes the reactor wait for the pool's work:
//
//	r.AddSystemEventTrigger(reactor.Before, "shutdown", func() *deferred.Deferred {
//		return pool.StopDeferred(r)
//	})
func (p *Pool) StopDeferred(loop Loop) *deferred.Deferred {
	d := deferred.New()
	go func() {
		p.Stop()
		loop.CallFromThread(func() { d.Callback(nil) })
	}()
	return d
}

func (p *Pool) popIdle() chan<- func() {
	w := p.idle[len(p.idle)-1]
	p.idle[len(p.idle)-1] = nil
	p.idle = p.idle[:len(p.idle)-1]
	return w.jobs
}

// growLocked starts workers for the queued work, up to max (or one, to drain
// the queue of a stopped pool that has none), then idle ones up to min.
func (p *Pool) growLocked() {
	for len(p.queue) > 0 && (p.workers < p.max || p.stopped && p.workers == 0) {
		p.startLocked(p.dequeue())
	}
	for !p.stopped && p.workers < p.min {
		p.startLocked(nil)
	}
}

func (p *Pool) dequeue() func() {
	f := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return f
}

// startLocked starts a worker that runs f first, or, if f is nil, an idle
// one.
func (p *Pool) startLocked(f func()) {
	w := &worker{jobs: make(chan func(), 1)}
	p.workers++
	p.wg.Add(1)
	if f == nil {
		p.idle = append(p.idle, w)
	}
	go p.work(w, f)
}

func (p *Pool) work(w *worker, f func()) {
	defer p.wg.Done()
	if f == nil {
		f = <-w.jobs
	}
	for f != nil {
		p.run(f)
		f = p.next(w)
	}
}

// next returns the worker's next function, waiting idle for one if the queue
// is empty, or nil if the worker must exit.
func (p *Pool) next(w *worker) func() {
	p.mu.Lock()
	switch {
	case p.workers > p.max && !p.stopped:
		p.workers--
		p.mu.Unlock()
		return nil
	case len(p.queue) > 0:
		f := p.dequeue()
		p.mu.Unlock()
		return f
	case p.stopped:
		p.workers--
		p.mu.Unlock()
		return nil
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	return <-w.jobs
}

// run runs f, logging a panic. If f calls runtime.Goexit, the worker's
// goroutine ends: run then accounts for it and starts a replacement if
// queued work needs one.
func (p *Pool) run(f func()) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			slog.Default().Error("threads: panic in a function run by the pool", "panic", v, "stack", string(debug.Stack()))
			return
		}
		p.mu.Lock()
		p.workers--
		p.growLocked()
		p.mu.Unlock()
	}()
	f()
	returned = true
}
