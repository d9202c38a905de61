package reactor

import (
	"runtime"
	"testing"
)

// TestProcsSpare follows GOMAXPROCS through groups starting and stopping
// and the program setting its own value in between.
func TestProcsSpare(t *testing.T) {
	// spare is GOMAXPROCS with loops running in groups: one above them, up
	// to one above the CPUs.
	spare := func(loops int) int { return min(loops, runtime.NumCPU()) + 1 }
	type step struct {
		reserve, release int // loops of a group starting, stopping
		program          int // GOMAXPROCS set by the program, if not 0
		want             int // GOMAXPROCS after the step
	}
	for _, tc := range []struct {
		name  string
		start int
		steps []step
	}{
		{"raised and restored", 2, []step{{reserve: 2, want: spare(2)}, {release: 2, want: 2}}},
		{"enough already", 8, []step{{reserve: 2, want: 8}, {release: 2, want: 8}}},
		{"two groups", 1, []step{
			{reserve: 2, want: spare(2)}, {reserve: 3, want: spare(5)},
			{release: 2, want: spare(3)}, {release: 3, want: 1},
		}},
		{"the program's own setting wins", 2, []step{
			{reserve: 2, want: spare(2)}, {program: 2, want: 2},
			{reserve: 2, want: spare(4)}, {program: 9, want: 9},
			{release: 2, want: 9}, {release: 2, want: 9},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.start))
			for i, s := range tc.steps {
				switch {
				case s.reserve > 0:
					reserveProcs(s.reserve)
				case s.release > 0:
					releaseProcs(s.release)
				default:
					runtime.GOMAXPROCS(s.program)
				}
				if got := runtime.GOMAXPROCS(0); got != s.want {
					t.Fatalf("step %d %+v: GOMAXPROCS = %d, want %d", i, s, got, s.want)
				}
			}
			if procs.loops != 0 {
				t.Fatalf("%d loops still counted", procs.loops)
			}
		})
	}
}

// TestProcsSpareCapped: the spare stops at one above the CPUs, however
// many loops run.
func TestProcsSpareCapped(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	n := runtime.NumCPU() + 3
	reserveProcs(n)
	if got, want := runtime.GOMAXPROCS(0), runtime.NumCPU()+1; got != want {
		t.Errorf("with %d loops on %d CPUs: GOMAXPROCS = %d, want %d", n, runtime.NumCPU(), got, want)
	}
	releaseProcs(n)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("after the loops stopped: GOMAXPROCS = %d, want 1", got)
	}
}

// TestGroupRunKeepsASpareProcessor: a running group of two loops sees a
// processor to spare; a group of one does not change GOMAXPROCS.
func TestGroupRunKeepsASpareProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, tc := range []struct{ loops, want int }{
		{1, 1},
		{2, min(2, runtime.NumCPU()) + 1},
	} {
		g := newGroup(t, tc.loops)
		seen := make(chan int, 1)
		g.Loops()[0].CallWhenRunning(func() {
			seen <- runtime.GOMAXPROCS(0)
			g.Stop()
		})
		if err := g.Run(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := <-seen; got != tc.want {
			t.Errorf("%d loops running: GOMAXPROCS = %d, want %d", tc.loops, got, tc.want)
		}
		if got := runtime.GOMAXPROCS(0); got != 1 {
			t.Errorf("%d loops stopped: GOMAXPROCS = %d, want 1 again", tc.loops, got)
		}
	}
}
