package reactor

import (
	"os"
	"runtime"
	"sync"
)

// A loop waits in the poller through an ordinary blocking system call,
// which leaves its processor (a P, of which there are GOMAXPROCS) parked
// with the thread. When no other processor is idle, the runtime's monitor
// thread takes a processor back from a system call that has lasted 20 µs,
// and while it keeps doing so it wakes every 20 µs instead of sleeping for
// up to 10 ms. A server with as many loops as processors, each blocking
// briefly thousands of times a second, paid for that in CPU: with 2 loops
// and GOMAXPROCS=2 (2 CPUs), echobench measured 655-691 ns of user CPU per
// 64-byte echo; with one processor to spare, 512-679 ns (six runs), at the
// same or a higher rate, and sysmon's sleeps fell from about 4,000 to 1,500
// a second. So while a Group of two or more loops runs, the runtime is
// given one processor more than there are loops in such groups, up to one
// more than the CPUs. The spare costs nothing while idle: the runtime
// starts no thread for it until there is a goroutine to run. A single loop
// pinned to one CPU measured worse with a spare (575 against 470-490 ns),
// and is left alone.
//
// A program that sets GOMAXPROCS itself keeps its setting once it differs
// from the one set here, and a value at least one above the running loops
// is never changed.
var procs struct {
	sync.Mutex
	loops int // loops running
	set   int // the GOMAXPROCS set here, 0 when the program's own is in force
	prev  int // the program's GOMAXPROCS before it was raised
}

// reserveProcs records n loops of a group that are about to run and
// raises GOMAXPROCS to keep a processor to spare.
func reserveProcs(n int) {
	procs.Lock()
	defer procs.Unlock()
	procs.loops += n
	cur := runtime.GOMAXPROCS(0)
	if procs.set != 0 && cur != procs.set {
		procs.set = 0 // changed by the program since: its own now
	}
	want := min(procs.loops, runtime.NumCPU()) + 1
	if cur >= want {
		return
	}
	if procs.set == 0 {
		procs.prev = cur
	}
	runtime.GOMAXPROCS(want)
	procs.set = want
}

// releaseProcs records n loops of a group that have stopped and lowers
// GOMAXPROCS again, down to the program's own value, if it was raised here
// and not changed since.
func releaseProcs(n int) {
	procs.Lock()
	defer procs.Unlock()
	procs.loops -= n
	if procs.set == 0 || runtime.GOMAXPROCS(0) != procs.set {
		procs.set = 0
		return
	}
	want := max(procs.prev, min(procs.loops, runtime.NumCPU())+1) // prev when none is left
	switch {
	case want == procs.set:
	case want == procs.prev:
		restoreProcs(want)
		procs.set = 0
	default:
		runtime.GOMAXPROCS(want)
		procs.set = want
	}
}

// restoreProcs gives GOMAXPROCS back to the program at prev. Setting it
// stops the runtime from following changes of the CPUs it may use (Go
// 1.25's default), so where prev was that default, the default is put
// back instead, and with it the updates.
func restoreProcs(prev int) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.SetDefaultGOMAXPROCS()
		if runtime.GOMAXPROCS(0) == prev {
			return
		}
	}
	runtime.GOMAXPROCS(prev)
}
