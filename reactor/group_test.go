package reactor

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/twistgo/twist/deferred"
)

func newGroup(t *testing.T, n int) *Group {
	t.Helper()
	g, err := NewGroup(n, WithLogger(nil))
	if err != nil {
		t.Fatalf("NewGroup: %v", err)
	}
	t.Cleanup(func() {
		for _, r := range g.Loops() {
			_ = r.Close()
		}
	})
	return g
}

func TestGroupSize(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{3, 3}, {1, 1}, {0, runtime.NumCPU()}, {-1, runtime.NumCPU()}} {
		if got := len(newGroup(t, tt.n).Loops()); got != tt.want {
			t.Errorf("NewGroup(%d) has %d loops, want %d", tt.n, got, tt.want)
		}
	}
}

func TestGroupNextRoundRobin(t *testing.T) {
	g := newGroup(t, 3)
	loops := g.Loops()
	for i := range 7 {
		if got := g.Next(); got != loops[i%3] {
			t.Fatalf("Next() call %d returned loop %p, want loop %d", i, got, i%3)
		}
	}
}

func TestGroupNextConcurrent(t *testing.T) {
	g := newGroup(t, 4)
	counts := make(map[*Reactor]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r := g.Next()
				mu.Lock()
				counts[r]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, r := range g.Loops() {
		if counts[r] != 200 {
			t.Fatalf("a loop was picked %d times out of 800, want 200", counts[r])
		}
	}
}

func TestGroupRunStop(t *testing.T) {
	g := newGroup(t, 4)
	var started, stopped sync.WaitGroup
	ids := make([]uint64, len(g.Loops()))
	for i, r := range g.Loops() {
		started.Add(1)
		stopped.Add(1)
		r.CallWhenRunning(func() {
			ids[i] = goid()
			started.Done()
		})
		r.AddSystemEventTrigger(After, "shutdown", trig(stopped.Done))
	}
	go func() {
		started.Wait()
		g.Stop()
	}()
	if err := g.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	stopped.Wait() // every loop ran its shutdown
	seen := map[uint64]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(seen) != len(ids) {
		t.Fatalf("loops ran on goroutines %v, want one each", ids)
	}
	if err := g.Run(); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run = %v, want ErrAlreadyRunning", err)
	}
}

// TestGroupStopBeforeRun: a Stop that comes before the loops start running
// still stops them.
func TestGroupStopBeforeRun(t *testing.T) {
	g := newGroup(t, 2)
	g.Stop()
	if err := g.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestGroupPostToNext hands work to the loops from other goroutines, as an
// acceptor hands connections.
func TestGroupPostToNext(t *testing.T) {
	g := newGroup(t, 3)
	var done sync.WaitGroup
	perLoop := make([]int, 3)
	for range 30 {
		done.Add(1)
		r := g.Next()
		i := indexOf(g.Loops(), r)
		r.CallFromThread(func() {
			perLoop[i]++ // owned by loop i: no lock
			done.Done()
		})
	}
	go func() {
		done.Wait()
		g.Stop()
	}()
	if err := g.Run(); err != nil {
		t.Fatal(err)
	}
	for i, n := range perLoop {
		if n != 10 {
			t.Fatalf("loop %d ran %d calls, want 10", i, n)
		}
	}
}

func indexOf(loops []*Reactor, r *Reactor) int {
	for i, l := range loops {
		if l == r {
			return i
		}
	}
	return -1
}

// TestGroupStopBeforeRunReachesWaitingStartup: a Stop that comes before Run
// stops a loop whose startup waits for a before-startup Deferred, as Stop
// during that wait stops a single reactor, instead of waiting for the
// Deferred (which might wait for the shutdown) to fire first.
func TestGroupStopBeforeRunReachesWaitingStartup(t *testing.T) {
	g := newGroup(t, 1)
	r := g.Loops()[0]
	startup := deferred.New()
	r.AddSystemEventTrigger(Before, "startup", func() *deferred.Deferred {
		// Runs on the loop's next turn, the startup still waiting.
		r.CallFromThread(func() {
			if err := r.Stop(); err == nil {
				t.Error("the group's Stop had not reached the loop while its startup waited")
			}
			startup.Callback(nil)
		})
		return startup
	})
	g.Stop()
	if err := g.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
