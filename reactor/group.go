package reactor

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/twistgo/twist/deferred"
)

// Group is a set of loops, typically one per CPU, for servers that want
// every core: each accepted connection is handed to one loop (Next) and
// lives there for its whole life, so each loop keeps the single-threaded
// rule. State shared by several loops, such as a factory's counters, is
// the user's to synchronise.
type Group struct {
	loops    []*Reactor
	next     atomic.Uint64
	started  atomic.Bool
	stopping atomic.Bool
}

// NewGroup returns a group of n loops made with opts; n <= 0 means one per
// CPU (runtime.NumCPU).
func NewGroup(n int, opts ...Option) (*Group, error) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	g := &Group{loops: make([]*Reactor, n)}
	for i := range g.loops {
		r, err := New(opts...)
		if err != nil {
			for _, made := range g.loops[:i] {
				_ = made.Close()
			}
			return nil, err
		}
		g.loops[i] = r
	}
	return g, nil
}

// Loops returns the group's loops. The slice must not be modified.
func (g *Group) Loops() []*Reactor { return g.loops }

// Next returns the next loop in round-robin order. It is safe to call from
// any goroutine.
func (g *Group) Next() *Reactor {
	return g.loops[(g.next.Add(1)-1)%uint64(len(g.loops))]
}

// Run runs every loop on its own goroutine and returns when all have
// stopped, with the errors their Run returned. It returns ErrAlreadyRunning
// if the group has been run before.
//
// The loops are not locked to OS threads: a loop blocks in the poller
// through an ordinary system call, which hands its processor to other
// goroutines, and BenchmarkWakeLatency measured no gain from locking (the
// same median, a worse 99th percentile). While a group of two or more
// loops runs, GOMAXPROCS is kept at least one above its loops, up to one
// above the CPUs, and lowered again when it stops: a loop blocked in the
// poller keeps its processor, and the runtime's monitor costs CPU taking
// processors back when none is idle (procs.go says more). A single loop
// measured better without.
func (g *Group) Run() error {
	if !g.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	if len(g.loops) > 1 {
		reserveProcs(len(g.loops))
		defer releaseProcs(len(g.loops))
	}
	errs := make([]error, len(g.loops))
	var wg sync.WaitGroup
	for i, r := range g.loops {
		// A Stop that came before this loop started running stops it now,
		// in the Before phase: the startup may wait there for Deferreds,
		// and Stop during that wait stops a reactor at once.
		r.AddSystemEventTrigger(Before, "startup", func() *deferred.Deferred {
			if g.stopping.Load() {
				_ = r.Stop()
			}
			return nil
		})
		wg.Go(func() { errs[i] = r.Run() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stop stops every loop of the group, including loops that Run has not
// started yet. It is safe to call from any goroutine.
func (g *Group) Stop() {
	g.stopping.Store(true)
	for _, r := range g.loops {
		_ = r.Stop()
	}
}
