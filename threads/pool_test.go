package threads

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twistgo/twist/internal/testlog"
)

// blocker is work that signals when it starts and then waits for release:
// with it a test knows how many functions run at once without timing them.
type blocker struct {
	started chan struct{}
	gate    chan struct{}
	done    sync.WaitGroup
	running atomic.Int32
	peak    atomic.Int32
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 1000), gate: make(chan struct{})}
}

// job returns a function that counts itself running, signals, and waits.
func (b *blocker) job() func() {
	b.done.Add(1)
	return func() {
		defer b.done.Done()
		n := b.running.Add(1)
		for {
			p := b.peak.Load()
			if n <= p || b.peak.CompareAndSwap(p, n) {
				break
			}
		}
		b.started <- struct{}{}
		<-b.gate
		b.running.Add(-1)
	}
}

// waitStarted waits until n more jobs have started.
func (b *blocker) waitStarted(n int) {
	for range n {
		<-b.started
	}
}

func (b *blocker) release() { close(b.gate) }

func mustCall(t *testing.T, p *Pool, f func()) {
	t.Helper()
	if err := p.CallInThread(f); err != nil {
		t.Fatalf("CallInThread: %v", err)
	}
}

func TestNewPoolStartsMinimumWorkers(t *testing.T) {
	for _, tc := range []struct{ min, max int }{{0, 5}, {3, 10}, {2, 2}} {
		p := NewPool(tc.min, tc.max)
		want := Stats{Workers: tc.min, Idle: tc.min}
		if got := p.Stats(); got != want {
			t.Errorf("NewPool(%d, %d).Stats() = %+v, want %+v", tc.min, tc.max, got, want)
		}
		if min, max := p.Size(); min != tc.min || max != tc.max {
			t.Errorf("Size() = %d, %d, want %d, %d", min, max, tc.min, tc.max)
		}
		p.Stop()
	}
}

func TestInvalidSizesPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(p *Pool)
	}{
		{"NewPool negative min", func(*Pool) { NewPool(-1, 1) }},
		{"NewPool min above max", func(*Pool) { NewPool(3, 2) }},
		{"SetSize negative min", func(p *Pool) { p.SetSize(-1, 1) }},
		{"SetSize min above max", func(p *Pool) { p.SetSize(2, 1) }},
		{"SetQueueLimit negative", func(p *Pool) { p.SetQueueLimit(-1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(0, 1)
			defer p.Stop()
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f(p)
		})
	}
}

func TestPoolRunsWorkOffTheCaller(t *testing.T) {
	p := NewPool(0, 2)
	defer p.Stop()
	caller := goid()
	ran := make(chan string)
	mustCall(t, p, func() { ran <- goid() })
	if g := <-ran; g == caller {
		t.Errorf("function ran on the calling goroutine %s", g)
	}
}

func TestPoolNeverRunsMoreThanMax(t *testing.T) {
	const max, n = 3, 10
	p := NewPool(0, max)
	defer p.Stop()
	b := newBlocker()
	for range n {
		mustCall(t, p, b.job())
	}
	b.waitStarted(max)
	if got, want := p.Stats(), (Stats{Workers: max, Busy: max, Queued: n - max}); got != want {
		t.Errorf("with all workers blocked: Stats() = %+v, want %+v", got, want)
	}
	b.release()
	b.done.Wait()
	if peak := b.peak.Load(); peak != max {
		t.Errorf("at most %d functions ran at once, want %d", peak, max)
	}
}

// A function that unblocks others already running gets a worker of its own
// while the pool has room (Twisted's RaceConditionTests.test_synchronization).
func TestPoolStartsWorkerWhenOthersAreBlocked(t *testing.T) {
	p := NewPool(0, 10)
	defer p.Stop()
	event := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		mustCall(t, p, func() {
			defer wg.Done()
			<-event
		})
	}
	mustCall(t, p, func() { close(event) })
	wg.Wait()
}

func TestPoolGivesWorkToIdleWorkersFirst(t *testing.T) {
	p := NewPool(2, 10)
	defer p.Stop()
	b := newBlocker()
	defer b.release()
	for i, want := range []Stats{
		{Workers: 2, Busy: 1, Idle: 1},
		{Workers: 2, Busy: 2},
		{Workers: 3, Busy: 3},
	} {
		mustCall(t, p, b.job())
		if got := p.Stats(); got != want {
			t.Errorf("after %d functions: Stats() = %+v, want %+v", i+1, got, want)
		}
	}
}

func TestPoolRunsQueuedWorkInOrder(t *testing.T) {
	p := NewPool(0, 1)
	b := newBlocker()
	mustCall(t, p, b.job())
	b.waitStarted(1)
	var order []int // written by the single worker only
	for i := range 5 {
		mustCall(t, p, func() { order = append(order, i) })
	}
	b.release()
	p.Stop()
	if want := []int{0, 1, 2, 3, 4}; !slices.Equal(order, want) {
		t.Errorf("queued functions ran in order %v, want %v", order, want)
	}
}

func TestPoolQueueLimit(t *testing.T) {
	for _, limit := range []int{0, 1, 3} {
		p := NewPool(0, 1)
		p.SetQueueLimit(limit)
		b := newBlocker()
		mustCall(t, p, b.job())
		for range limit {
			mustCall(t, p, b.job())
		}
		if err := p.CallInThread(func() {}); !errors.Is(err, ErrQueueFull) {
			t.Errorf("limit %d: CallInThread past the limit = %v, want ErrQueueFull", limit, err)
		}
		if got := p.Stats().Queued; got != limit {
			t.Errorf("limit %d: Queued = %d", limit, got)
		}
		b.release()
		p.Stop()
	}
}

// Work given to a pool that may not run any is queued and starts as soon as
// the pool may start workers for it, but no more than max (Twisted's
// test_workBeforeStarting and test_tooMuchWorkBeforeStarting).
func TestSetSizeStartsWorkersForQueuedWork(t *testing.T) {
	for _, tc := range []struct{ queued, max, workers int }{
		{5, 10, 5},
		{50, 10, 10},
	} {
		p := NewPool(0, 0)
		b := newBlocker()
		for range tc.queued {
			mustCall(t, p, b.job())
		}
		if got, want := p.Stats(), (Stats{Queued: tc.queued}); got != want {
			t.Errorf("before SetSize: Stats() = %+v, want %+v", got, want)
		}
		p.SetSize(0, tc.max)
		want := Stats{Workers: tc.workers, Busy: tc.workers, Queued: tc.queued - tc.workers}
		if got := p.Stats(); got != want {
			t.Errorf("%d queued, SetSize(0, %d): Stats() = %+v, want %+v", tc.queued, tc.max, got, want)
		}
		b.release()
		b.done.Wait()
		p.Stop()
	}
}

func TestSetSizeRaisingMinimumStartsIdleWorkers(t *testing.T) {
	p := NewPool(0, 5)
	defer p.Stop()
	p.SetSize(2, 5)
	if got, want := p.Stats(), (Stats{Workers: 2, Idle: 2}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestSetSizeStopsIdleWorkersAtOnce(t *testing.T) {
	p := NewPool(4, 4)
	defer p.Stop()
	p.SetSize(0, 1)
	if got, want := p.Stats(), (Stats{Workers: 1, Idle: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// Busy workers above a lowered maximum finish their function, then exit
// without taking queued work: from then on at most max functions run.
func TestSetSizeShrinksBusyWorkersWhenTheyFinish(t *testing.T) {
	p := NewPool(0, 3)
	defer p.Stop()
	old := newBlocker()
	for range 3 {
		mustCall(t, p, old.job())
	}
	old.waitStarted(3)
	p.SetSize(0, 1)
	if got := p.Stats().Workers; got != 3 {
		t.Errorf("busy workers after SetSize(0, 1): Workers = %d, want 3", got)
	}
	next := newBlocker()
	mustCall(t, p, next.job())
	mustCall(t, p, next.job())
	old.release()
	next.waitStarted(1)
	if got := p.Stats().Queued; got != 1 {
		t.Errorf("one function running with max 1: Queued = %d, want 1", got)
	}
	next.release()
	next.done.Wait()
	if peak := next.peak.Load(); peak != 1 {
		t.Errorf("after shrinking to 1, %d functions ran at once", peak)
	}
}

func TestSetSizeOnStoppedPoolStartsNothing(t *testing.T) {
	p := NewPool(0, 5)
	p.Stop()
	p.SetSize(2, 5)
	if got := p.Stats(); got != (Stats{}) {
		t.Errorf("Stats() = %+v, want none", got)
	}
	if min, max := p.Size(); min != 2 || max != 5 {
		t.Errorf("Size() = %d, %d, want 2, 5", min, max)
	}
}

func TestStopWaitsForRunningAndQueuedWork(t *testing.T) {
	p := NewPool(0, 1)
	b := newBlocker()
	mustCall(t, p, b.job())
	b.waitStarted(1)
	var queuedRan atomic.Bool
	mustCall(t, p, func() { queuedRan.Store(true) })
	stopped := make(chan struct{})
	go func() {
		p.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a function was running")
	default:
	}
	b.release()
	<-stopped
	if b.running.Load() != 0 || !queuedRan.Load() {
		t.Error("Stop returned before the work given to the pool had run")
	}
	if got := p.Stats(); got != (Stats{}) {
		t.Errorf("after Stop: Stats() = %+v, want no workers", got)
	}
}

func TestStopRunsQueueOfPoolWithoutWorkers(t *testing.T) {
	p := NewPool(0, 0)
	var order []int
	for i := range 3 {
		mustCall(t, p, func() { order = append(order, i) })
	}
	p.Stop()
	if want := []int{0, 1, 2}; !slices.Equal(order, want) {
		t.Errorf("ran %v, want %v", order, want)
	}
}

func TestStopEndsIdleWorkersAndRefusesWork(t *testing.T) {
	p := NewPool(3, 3)
	p.Stop()
	p.Stop() // a second Stop returns too
	if err := p.CallInThread(func() { t.Error("ran after Stop") }); !errors.Is(err, ErrStopped) {
		t.Errorf("CallInThread after Stop = %v, want ErrStopped", err)
	}
	if err := p.CallMultipleInThread([]func(){func() {}}); !errors.Is(err, ErrStopped) {
		t.Errorf("CallMultipleInThread after Stop = %v, want ErrStopped", err)
	}
}

func TestPanicInPoolFunctionIsLoggedAndWorkerGoesOn(t *testing.T) {
	buf := testlog.CaptureDefault(t)

	p := NewPool(0, 1)
	mustCall(t, p, func() { panic("kaboom") })
	after := make(chan struct{})
	mustCall(t, p, func() { close(after) })
	<-after
	if got := p.Stats().Workers; got != 1 {
		t.Errorf("Workers = %d after a panic, want the same 1", got)
	}
	p.Stop()
	if log := buf.String(); !strings.Contains(log, "kaboom") || !strings.Contains(log, "TestPanicInPoolFunction") {
		t.Errorf("log = %q, want the panic value and its stack", log)
	}
}

// A function that ends its goroutine with runtime.Goexit (t.FailNow does)
// costs the pool a worker, which is replaced for the queued work.
func TestGoexitInPoolFunctionReplacesWorker(t *testing.T) {
	p := NewPool(0, 1)
	b := newBlocker()
	mustCall(t, p, b.job())
	b.waitStarted(1)
	mustCall(t, p, runtime.Goexit)
	ran := make(chan struct{})
	mustCall(t, p, func() { close(ran) })
	b.release()
	<-ran
	p.Stop()
}

func TestCallMultipleInThreadRunsInOrderOnOneWorker(t *testing.T) {
	p := NewPool(0, 5)
	defer p.Stop()
	var order []int // unsynchronised: the race detector objects to two goroutines
	var workers []string
	var fs []func()
	for i := range 10 {
		fs = append(fs, func() {
			order = append(order, i)
			workers = append(workers, goid())
		})
	}
	done := make(chan struct{})
	fs = append(fs, func() { close(done) })
	if err := p.CallMultipleInThread(fs); err != nil {
		t.Fatal(err)
	}
	<-done
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(order, want) {
		t.Errorf("ran %v, want %v", order, want)
	}
	for _, w := range workers {
		if w != workers[0] {
			t.Fatalf("functions ran on goroutines %v, want one", workers)
		}
	}
}

func TestDefaultPool(t *testing.T) {
	p := Default()
	if Default() != p {
		t.Error("Default() returned two pools")
	}
	if min, max := p.Size(); min != 0 || max != DefaultMax {
		t.Errorf("Default().Size() = %d, %d, want 0, %d", min, max, DefaultMax)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	if err := CallInThread(wg.Done); err != nil {
		t.Fatal(err)
	}
	if err := CallMultipleInThread([]func(){wg.Done}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// goid returns the current goroutine's id, from the first line of its stack.
func goid() string {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	return s[:strings.IndexByte(s, ' ')]
}
