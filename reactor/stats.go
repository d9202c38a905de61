package reactor

import (
	"time"

	"github.com/twistgo/twist/metrics/latency"
)

// idleSampleMask says how often the loop times a wait in the poller that
// may block: one wait in idleSampleMask+1, a power of two. A clock read
// costs from 20 ns to over 150 ns (in virtual machines), two per turn would
// be a visible share of a busy echo server's turn, and one in 16 is not.
// Tests set it to 0: every wait.
var idleSampleMask uint64 = 15

// loopStats is what a loop counts of itself. Only the loop writes it, with
// plain adds: nothing on the hot path is atomic, locked or allocated. Other
// goroutines read it through Stats, which copies it on the loop.
type loopStats struct {
	iterations uint64
	events     uint64
	posted     uint64
	timersRun  uint64
	lag        latency.Counts
	// started is when the loop started turning (r.elapsed()).
	started int64
	// The idle time is estimated from the timed waits: blocking counts the
	// waits that may block, timed those of them that were timed, and
	// idleTimed the nanoseconds spent in them.
	blocking, timed uint64
	idleTimed       int64
}

// Stats is what a loop has counted since it started running. Counters are
// cumulative: rates are the differences of two Stats over the time between
// them.
type Stats struct {
	// Iterations counts the turns of the loop: each runs the posted calls,
	// the due timers, one wait in the poller and the events it returned.
	Iterations uint64
	// Events counts the readiness events dispatched to file descriptors
	// (the poller's own wake-ups not included).
	Events uint64
	// Posted counts the functions run from CallFromThread, the Stats calls
	// that read the loop included.
	Posted uint64
	// TimersRun counts the delayed calls run; TimersPending is how many
	// are scheduled.
	TimersRun     uint64
	TimersPending int
	// Lag is the distribution of how late the delayed calls ran: from the
	// time each was due to the time the loop ran it. It is measured with
	// the clock read the loop does anyway before running the due timers,
	// once per batch, so the later calls of a batch are counted a little
	// early.
	Lag latency.Counts
	// Uptime is how long the loop has been running.
	Uptime time.Duration
	// Busy is the part of Uptime the loop spent outside the poller's wait,
	// running callbacks and system calls. It is estimated: one wait in 16
	// that may block is timed (two clock reads), and the others are taken
	// to be alike, so it is exact in the mean over many turns and coarse
	// over a handful. Busy/Uptime, or the difference of Busy between two
	// Stats over the time between them, is the busy fraction.
	Busy time.Duration
}

// Stats returns the loop's counters. Any goroutine may call it. The loop
// copies its counters on its next turn, as a posted call (so reading costs
// the loop nothing the rest of the time); Stats waits up to wait for that.
// If the loop has not answered by then, being stuck in a long callback, Stats
// returns the counters of the last time it answered and false. A loop that
// has stopped is read directly; one not yet running has counted nothing.
// Called on the loop itself, Stats would wait for its own turn and fail:
// code on a loop calls it through threads.DeferToThread.
func (r *Reactor) Stats(wait time.Duration) (Stats, bool) {
	switch r.state.Load() {
	case stateIdle:
		return Stats{}, true
	case stateStopped:
		select {
		case <-r.done:
			// Run has returned: its writes happened before done closed.
			return r.stats.read(r, r.stopped), true
		default:
		}
	}
	ch := make(chan Stats, 1)
	r.CallFromThread(func() { ch <- r.stats.read(r, r.elapsed()) })
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s := <-ch:
		r.lastStats.Store(&s)
		return s, true
	case <-r.done:
		return r.stats.read(r, r.stopped), true
	case <-t.C:
		if last := r.lastStats.Load(); last != nil {
			return *last, false
		}
		return Stats{}, false
	}
}

// read returns the counters as Stats at time now; it runs on the loop, or
// after it has stopped.
func (st *loopStats) read(r *Reactor, now int64) Stats {
	s := Stats{
		Iterations:    st.iterations,
		Events:        st.events,
		Posted:        st.posted,
		TimersRun:     st.timersRun,
		TimersPending: len(r.timers),
		Lag:           st.lag,
	}
	if st.started == 0 {
		return s // the loop never turned
	}
	s.Uptime = time.Duration(now - st.started)
	var idle float64
	if st.timed > 0 {
		idle = float64(st.idleTimed) * float64(st.blocking) / float64(st.timed)
	}
	s.Busy = max(0, s.Uptime-time.Duration(idle))
	return s
}

// wait waits in the poller, timing one wait in idleSampleMask+1 of those
// that may block.
func (r *Reactor) wait(timeout time.Duration) (int, error) {
	if timeout == 0 {
		return r.p.wait(0)
	}
	r.stats.blocking++
	if (r.stats.blocking-1)&idleSampleMask != 0 {
		return r.p.wait(timeout)
	}
	t0 := r.elapsed()
	n, err := r.p.wait(timeout)
	r.stats.idleTimed += r.elapsed() - t0
	r.stats.timed++
	return n, err
}
