package task_test

import (
	"errors"
	"iter"
	"slices"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

// fakeScheduler queues the Cooperator's time slices until pump runs them.
type fakeScheduler struct{ queued []*fakeSlice }

type fakeSlice struct {
	f         func()
	cancelled bool
}

func (s *fakeScheduler) schedule(f func()) func() {
	sl := &fakeSlice{f: f}
	s.queued = append(s.queued, sl)
	return func() { sl.cancelled = true }
}

// pump runs the slices queued so far; those they schedule wait for the next
// pump.
func (s *fakeScheduler) pump() {
	queued := s.queued
	s.queued = nil
	for _, sl := range queued {
		if !sl.cancelled {
			sl.f()
		}
	}
}

// pending returns the slices queued and not cancelled.
func (s *fakeScheduler) pending() int {
	n := 0
	for _, sl := range s.queued {
		if !sl.cancelled {
			n++
		}
	}
	return n
}

// oneStep ends every time slice after one step.
func oneStep() func() bool { return func() bool { return true } }

// values yields nil once for each of vs, after appending it to out.
func values[T any](out *[]T, vs ...T) iter.Seq[*deferred.Deferred] {
	return func(yield func(*deferred.Deferred) bool) {
		for _, v := range vs {
			*out = append(*out, v)
			if !yield(nil) {
				return
			}
		}
	}
}

// empty is an iterator with no steps.
func empty(func(*deferred.Deferred) bool) {}

// Tasks take turns: one step of each in the order they were added.
func TestCooperatorRoundRobin(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	var got []string
	var done []*deferred.Deferred
	for _, group := range [][]string{{"a", "b", "c"}, {"1", "2", "3"}, {"d", "e", "f"}, {"4", "5", "6"}} {
		done = append(done, coop.Coiterate(values(&got, group...)))
	}
	c.Advance(0)
	want := []string{"a", "1", "d", "4", "b", "2", "e", "5", "c", "3", "f", "6"}
	if !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for i, d := range done {
		if _, err := outcome(t, d); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	if calls := c.DelayedCalls(); len(calls) != 0 {
		t.Fatalf("an idle Cooperator left calls %v", calls)
	}
}

// When a task finishes, the turn passes to the task after it.
func TestCooperatorTurnPassesOnWhenTaskFinishes(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	var got []string
	coop.Coiterate(values(&got, "a"))
	coop.Coiterate(values(&got, "1", "2", "3"))
	coop.Coiterate(values(&got, "x", "y", "z"))
	c.Advance(0)
	if want := []string{"a", "1", "x", "2", "y", "3", "z"}; !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
}

// Steps run in time slices on the loop, never inside Cooperate, and the
// turns carry on where the last slice ended.
func TestCooperatorSlicesKeepTurns(t *testing.T) {
	s := &fakeScheduler{}
	coop := task.NewCooperator(nil, task.WithScheduler(s.schedule), task.WithTerminator(func() func() bool {
		n := 0
		return func() bool { n++; return n == 3 }
	}))
	t.Cleanup(coop.Stop) // the iterators are left at their last yield
	var got []int
	coop.Cooperate(values(&got, 1, 2, 3))
	coop.Cooperate(values(&got, 10, 20, 30))
	if len(got) != 0 {
		t.Fatalf("steps %v ran inside Cooperate", got)
	}
	s.pump()
	if want := []int{1, 10, 2}; !slices.Equal(got, want) {
		t.Fatalf("first slice ran %v, want %v", got, want)
	}
	s.pump()
	if want := []int{1, 10, 2, 20, 3, 30}; !slices.Equal(got, want) {
		t.Fatalf("second slice ran %v, want %v", got, want)
	}
}

// The terminator is asked after every step (Twisted's
// testResourceExhaustion).
func TestCooperatorTerminatorEndsSlice(t *testing.T) {
	s := &fakeScheduler{}
	exhausted := false
	coop := task.NewCooperator(nil, task.WithScheduler(s.schedule),
		task.WithTerminator(func() func() bool { return func() bool { return exhausted } }))
	var got []int
	done := coop.Coiterate(func(yield func(*deferred.Deferred) bool) {
		for i := range 100 {
			got = append(got, i)
			if i == 9 {
				exhausted = true
			}
			if !yield(nil) {
				return
			}
		}
	})
	s.pump()
	coop.Stop()
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if _, err := outcome(t, done); !errors.Is(err, task.ErrSchedulerStopped) {
		t.Fatalf("task result %v, want ErrSchedulerStopped", err)
	}
}

func TestCooperatorStoppedRejectsNewTasks(t *testing.T) {
	coop := task.NewCooperator(task.NewClock())
	coop.Stop()
	ran := false
	d := coop.Coiterate(func(func(*deferred.Deferred) bool) { ran = true })
	if _, err := outcome(t, d); !errors.Is(err, task.ErrSchedulerStopped) {
		t.Fatalf("task on a stopped Cooperator: %v, want ErrSchedulerStopped", err)
	}
	if ran {
		t.Fatal("the iterator of a rejected task ran")
	}
}

// Stop ends the running tasks before they complete, and their iterators'
// yield returns false so that their bodies can clean up.
func TestCooperatorStopRunning(t *testing.T) {
	s := &fakeScheduler{}
	coop := task.NewCooperator(nil, task.WithScheduler(s.schedule), task.WithTerminator(oneStep))
	steps, cleanedUp := 0, false
	d := coop.Coiterate(func(yield func(*deferred.Deferred) bool) {
		defer func() { cleanedUp = true }()
		for range 3 {
			steps++
			if !yield(nil) {
				return
			}
		}
	})
	s.pump()
	coop.Stop()
	s.pump()
	if _, err := outcome(t, d); !errors.Is(err, task.ErrSchedulerStopped) {
		t.Fatalf("stopped task: %v, want ErrSchedulerStopped", err)
	}
	if steps != 1 || !cleanedUp {
		t.Fatalf("steps %d, cleaned up %v; want 1, true", steps, cleanedUp)
	}
}

// A task stopped before its first step never runs its iterator.
func TestCooperatorStopBeforeFirstStep(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	ran := false
	d := coop.Coiterate(func(func(*deferred.Deferred) bool) { ran = true })
	coop.Stop()
	c.Advance(0)
	if _, err := outcome(t, d); !errors.Is(err, task.ErrSchedulerStopped) || ran {
		t.Fatalf("result %v, ran %v; want ErrSchedulerStopped, false", err, ran)
	}
}

// A task waiting on its Deferred when the Cooperator stops fails with
// ErrSchedulerStopped, and takes no further step when the Deferred fires.
func TestCooperatorStopOutstanding(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	outstanding := deferred.New()
	afterWait := false
	d := coop.Coiterate(func(yield func(*deferred.Deferred) bool) {
		if yield(outstanding) {
			afterWait = true
		}
	})
	c.Advance(0)
	coop.Stop()
	outstanding.Callback("arglebargle")
	c.Advance(0)
	if _, err := outcome(t, d); !errors.Is(err, task.ErrSchedulerStopped) {
		t.Fatalf("task result %v, want ErrSchedulerStopped", err)
	}
	if afterWait {
		t.Fatal("the task went on after its Cooperator stopped")
	}
}

func TestCooperatorTaskFailure(t *testing.T) {
	tests := map[string]func(c *task.Clock) iter.Seq[*deferred.Deferred]{
		"panic before the first yield": func(*task.Clock) iter.Seq[*deferred.Deferred] {
			return func(func(*deferred.Deferred) bool) { panic(errTest) }
		},
		"Deferred failing later": func(c *task.Clock) iter.Seq[*deferred.Deferred] {
			return func(yield func(*deferred.Deferred) bool) {
				d := deferred.New()
				c.CallLater(0, func() { d.Errback(errTest) })
				yield(d)
			}
		},
		"Deferred failed already": func(*task.Clock) iter.Seq[*deferred.Deferred] {
			return func(yield func(*deferred.Deferred) bool) { yield(deferred.Fail(errTest)) }
		},
	}
	for name, it := range tests {
		t.Run(name, func(t *testing.T) {
			c := task.NewClock()
			coop := task.NewCooperator(c)
			d := coop.Coiterate(it(c))
			c.Advance(0)
			if _, err := outcome(t, d); !errors.Is(err, errTest) {
				t.Fatalf("task result %v, want %v", err, errTest)
			}
			if calls := c.DelayedCalls(); len(calls) != 0 {
				t.Fatalf("calls left: %v", calls)
			}
		})
	}
}

func TestCooperatorPanicIsPanicError(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	d := coop.Coiterate(func(func(*deferred.Deferred) bool) { panic("boom") })
	c.Advance(0)
	_, err := outcome(t, d)
	var pe *deferred.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("task result %v, want a PanicError of boom", err)
	}
}

// A task that yields Deferreds does one thing after another, each when the
// previous one is over, without blocking the other tasks.
func TestCooperatorSerialisesDeferreds(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	var got []string
	coop.Coiterate(func(yield func(*deferred.Deferred) bool) {
		for _, name := range []string{"one", "two"} {
			if !yield(task.DeferLater(c, 1e9, func() (any, error) {
				got = append(got, name)
				return nil, nil
			})) {
				return
			}
		}
	})
	coop.Coiterate(values(&got, "x", "y"))
	c.Advance(0)
	if want := []string{"x", "y"}; !slices.Equal(got, want) {
		t.Fatalf("at 0s: %v, want %v", got, want)
	}
	c.Advance(1e9)
	c.Advance(1e9)
	if want := []string{"x", "y", "one", "two"}; !slices.Equal(got, want) {
		t.Fatalf("at 2s: %v, want %v", got, want)
	}
}

// A callback of a finished task's Deferred that adds a task schedules one
// slice only (Twisted's testCallbackReCoiterate).
func TestCooperatorCallbackReCoiterate(t *testing.T) {
	var queued []func()
	sched := func(f func()) func() {
		if len(queued) != 0 {
			t.Fatalf("a slice was scheduled with %d already queued", len(queued))
		}
		queued = append(queued, f)
		return func() {}
	}
	coop := task.NewCooperator(nil, task.WithScheduler(sched), task.WithTerminator(oneStep))
	finished := false
	coop.Coiterate(empty).AddCallback(func(any) (any, error) {
		coop.Coiterate(empty).AddBoth(func(any) (any, error) { finished = true; return nil, nil })
		return nil, nil
	})
	for work := 0; !finished; work++ {
		if work > 50 || len(queued) == 0 {
			t.Fatalf("the Cooperator stalled after %d slices", work)
		}
		f := queued[0]
		queued = queued[1:]
		f()
	}
}

// Removing the last runnable task cancels the scheduled slice; adding one
// schedules it again.
func TestCooperatorIdleCancelsSlice(t *testing.T) {
	s := &fakeScheduler{}
	coop := task.NewCooperator(nil, task.WithScheduler(s.schedule))
	t.Cleanup(coop.Stop) // releases the last task's iterator
	var sink []int
	t1 := coop.Cooperate(values(&sink, 1, 2))
	t2 := coop.Cooperate(values(&sink, 1, 2))
	if s.pending() != 1 {
		t.Fatalf("%d slices scheduled for two tasks, want 1", s.pending())
	}
	t1.Stop()
	if s.pending() != 1 {
		t.Fatal("the slice was cancelled while a task remained")
	}
	t2.Stop()
	if s.pending() != 0 {
		t.Fatal("the slice was not cancelled when the last task stopped")
	}
	coop.Cooperate(values(&sink, 1, 2))
	if s.pending() != 1 {
		t.Fatal("no slice scheduled for a new task")
	}
}

func TestCooperatorRunning(t *testing.T) {
	tests := []struct {
		name string
		opts []task.CooperatorOption
		act  func(*task.Cooperator)
		want bool
	}{
		{"started on creation", nil, func(*task.Cooperator) {}, true},
		{"not started", []task.CooperatorOption{task.NotStarted()}, func(*task.Cooperator) {}, false},
		{"started later", []task.CooperatorOption{task.NotStarted()}, (*task.Cooperator).Start, true},
		{"stopped", []task.CooperatorOption{task.NotStarted()}, func(c *task.Cooperator) { c.Start(); c.Stop() }, false},
		{"restarted", nil, func(c *task.Cooperator) { c.Stop(); c.Start() }, true},
	}
	for _, tt := range tests {
		coop := task.NewCooperator(task.NewClock(), tt.opts...)
		tt.act(coop)
		if coop.Running() != tt.want {
			t.Errorf("%s: Running() = %v, want %v", tt.name, coop.Running(), tt.want)
		}
	}
}

// A Cooperator made with NotStarted holds its tasks until Start.
func TestCooperatorNotStartedHoldsTasks(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c, task.NotStarted())
	var got []int
	d := coop.Coiterate(values(&got, 1, 2))
	c.Advance(0)
	if len(got) != 0 || len(c.DelayedCalls()) != 0 {
		t.Fatalf("before Start: steps %v, calls %v", got, c.DelayedCalls())
	}
	coop.Start()
	c.Advance(0)
	if _, err := outcome(t, d); err != nil || !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("after Start: steps %v, result %v", got, err)
	}
}

// A task that stops itself from inside its iterator finishes at once, and
// its iterator's next yield returns false.
func TestCooperatorTaskStopsItself(t *testing.T) {
	c := task.NewClock()
	coop := task.NewCooperator(c)
	var self *task.CooperativeTask
	var yieldResult []bool
	self = coop.Cooperate(func(yield func(*deferred.Deferred) bool) {
		for {
			if err := self.Stop(); err != nil {
				t.Errorf("Stop from the iterator: %v", err)
			}
			ok := yield(nil)
			yieldResult = append(yieldResult, ok)
			if !ok {
				return
			}
		}
	})
	c.Advance(0)
	if !slices.Equal(yieldResult, []bool{false}) {
		t.Fatalf("yield returned %v, want [false]", yieldResult)
	}
	if _, err := outcome(t, self.WhenDone()); !errors.Is(err, task.ErrTaskStopped) {
		t.Fatalf("WhenDone: %v, want ErrTaskStopped", err)
	}
}

func TestCooperatorErrorsMatchFinished(t *testing.T) {
	for _, err := range []error{task.ErrTaskDone, task.ErrTaskStopped, task.ErrTaskFailed} {
		if !errors.Is(err, task.ErrTaskFinished) {
			t.Errorf("%v does not match ErrTaskFinished", err)
		}
	}
	for _, err := range []error{task.ErrSchedulerStopped, task.ErrNotPaused} {
		if errors.Is(err, task.ErrTaskFinished) {
			t.Errorf("%v matches ErrTaskFinished", err)
		}
	}
}

// runState is Twisted's RunStateTests fixture: one task, one step per slice,
// whose worker is told what its next step does.
type runState struct {
	sched                        *fakeScheduler
	coop                         *task.Cooperator
	task                         *task.CooperativeTask
	work                         []any
	deferNext, stopNext, dieNext bool
}

var errUnhandled = errors.New("unhandled")

func newRunState(t *testing.T) *runState {
	s := &runState{sched: &fakeScheduler{}}
	s.coop = task.NewCooperator(nil, task.WithScheduler(s.sched.schedule), task.WithTerminator(oneStep))
	t.Cleanup(s.coop.Stop) // releases the iterator of a task left unfinished
	s.task = s.coop.Cooperate(s.worker)
	s.coop.Start()
	return s
}

func (s *runState) worker(yield func(*deferred.Deferred) bool) {
	for i := 1; ; i++ {
		var d *deferred.Deferred
		switch {
		case s.deferNext:
			s.deferNext = false
			d = deferred.New()
			s.work = append(s.work, d)
		case s.stopNext:
			return
		case s.dieNext:
			panic(errUnhandled)
		default:
			s.work = append(s.work, i)
		}
		if !yield(d) {
			return
		}
	}
}

func (s *runState) checkWork(t *testing.T, want ...any) {
	t.Helper()
	if !slices.Equal(s.work, want) {
		t.Fatalf("work %v, want %v", s.work, want)
	}
}

func TestTaskPauseResume(t *testing.T) {
	s := newRunState(t)
	s.sched.pump()
	s.checkWork(t, 1)
	s.sched.pump()
	s.checkWork(t, 1, 2)
	s.task.Pause()
	s.sched.pump()
	s.checkWork(t, 1, 2)
	s.task.Resume()
	s.checkWork(t, 1, 2) // resuming does no work itself
	s.sched.pump()
	s.checkWork(t, 1, 2, 3)
}

func TestTaskResumeNotPaused(t *testing.T) {
	s := newRunState(t)
	if err := s.task.Resume(); !errors.Is(err, task.ErrNotPaused) {
		t.Fatalf("Resume of a running task: %v, want ErrNotPaused", err)
	}
	s.task.Pause()
	if err := s.task.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := s.task.Resume(); !errors.Is(err, task.ErrNotPaused) {
		t.Fatalf("second Resume: %v, want ErrNotPaused", err)
	}
}

// Pauses stack: a task paused twice runs after the second Resume.
func TestTaskPauseTwice(t *testing.T) {
	s := newRunState(t)
	for _, op := range []func() error{s.task.Pause, s.task.Pause, s.task.Resume} {
		op()
		s.sched.pump()
		s.checkWork(t)
	}
	s.task.Resume()
	s.sched.pump()
	s.checkWork(t, 1)
}

// A task waiting on a Deferred and paused runs again only once the Deferred
// has fired and it is resumed.
func TestTaskPauseWhileWaiting(t *testing.T) {
	s := newRunState(t)
	s.deferNext = true
	s.sched.pump()
	if len(s.work) != 1 {
		t.Fatalf("work %v, want one Deferred", s.work)
	}
	wait := s.work[0].(*deferred.Deferred)
	s.sched.pump()
	s.task.Pause()
	s.sched.pump()
	s.task.Resume()
	s.sched.pump()
	if len(s.work) != 1 {
		t.Fatalf("work %v while waiting, want one Deferred", s.work)
	}
	wait.Callback("STUFF!")
	s.sched.pump()
	s.checkWork(t, wait, 2)
}

// Each WhenDone Deferred fires with the task, and callbacks on one do not
// change what another sees.
func TestTaskWhenDone(t *testing.T) {
	s := newRunState(t)
	d1, d2 := s.task.WhenDone(), s.task.WhenDone()
	var results1, results2, final1, final2 []any
	d1.AddCallback(func(r any) (any, error) { results1 = append(results1, r); return 1, nil })
	d2.AddCallback(func(r any) (any, error) { results2 = append(results2, r); return 2, nil })
	d1.AddCallback(func(r any) (any, error) { final1 = append(final1, r); return nil, nil })
	d2.AddCallback(func(r any) (any, error) { final2 = append(final2, r); return nil, nil })
	s.stopNext = true
	s.sched.pump()
	if !slices.Equal(results1, []any{s.task}) || !slices.Equal(results2, []any{s.task}) {
		t.Fatalf("results %v, %v; want the task once each", results1, results2)
	}
	if !slices.Equal(final1, []any{1}) || !slices.Equal(final2, []any{2}) {
		t.Fatalf("final %v, %v; want [1], [2]", final1, final2)
	}
}

func TestTaskWhenDoneFailure(t *testing.T) {
	s := newRunState(t)
	d := s.task.WhenDone()
	s.dieNext = true
	s.sched.pump()
	if _, err := outcome(t, d); !errors.Is(err, errUnhandled) {
		t.Fatalf("WhenDone: %v, want %v", err, errUnhandled)
	}
	if err := s.task.Stop(); !errors.Is(err, task.ErrTaskFailed) {
		t.Fatalf("Stop of a failed task: %v, want ErrTaskFailed", err)
	}
}

func TestTaskWhenDoneStopped(t *testing.T) {
	s := newRunState(t)
	d := s.task.WhenDone()
	s.task.Stop()
	if _, err := outcome(t, d); !errors.Is(err, task.ErrTaskStopped) {
		t.Fatalf("WhenDone: %v, want ErrTaskStopped", err)
	}
}

func TestTaskWhenDoneAfterDone(t *testing.T) {
	s := newRunState(t)
	s.stopNext = true
	s.sched.pump()
	if v, err := outcome(t, s.task.WhenDone()); err != nil || v != s.task {
		t.Fatalf("WhenDone of a done task: %v, %v; want the task", v, err)
	}
	if err := s.task.Stop(); !errors.Is(err, task.ErrTaskDone) {
		t.Fatalf("Stop of a done task: %v, want ErrTaskDone", err)
	}
}

// A stopped task does no more work, and Stop and Pause say it has stopped.
func TestTaskStopStops(t *testing.T) {
	s := newRunState(t)
	s.task.Stop()
	s.sched.pump()
	s.checkWork(t)
	if err := s.task.Stop(); !errors.Is(err, task.ErrTaskStopped) {
		t.Fatalf("second Stop: %v, want ErrTaskStopped", err)
	}
	if err := s.task.Pause(); !errors.Is(err, task.ErrTaskStopped) {
		t.Fatalf("Pause of a stopped task: %v, want ErrTaskStopped", err)
	}
	s.sched.pump()
	s.checkWork(t)
}

// Resuming a task that was stopped while paused is allowed and does nothing.
func TestTaskPauseStopResume(t *testing.T) {
	s := newRunState(t)
	s.task.Pause()
	s.task.Stop()
	if err := s.task.Resume(); err != nil {
		t.Fatalf("Resume of a paused, stopped task: %v", err)
	}
	s.sched.pump()
	s.checkWork(t)
}

// A task stopped while waiting on a Deferred takes no step when it fires,
// and leaves the Deferred's result to its other callbacks.
func TestTaskStopWhileWaiting(t *testing.T) {
	s := newRunState(t)
	s.deferNext = true
	s.sched.pump()
	wait := s.work[0].(*deferred.Deferred)
	var results []any
	wait.AddBoth(func(r any) (any, error) { results = append(results, r); return nil, nil })
	s.sched.pump()
	s.task.Stop()
	s.sched.pump()
	wait.Callback(7)
	s.sched.pump()
	if !slices.Equal(results, []any{nil}) {
		t.Fatalf("the Deferred's later callbacks saw %v, want [nil]", results)
	}
	s.checkWork(t, wait)
}

// A WhenDone callback that stops the Cooperator finds the task already
// gone from it.
func TestTaskWhenDoneStopsCooperator(t *testing.T) {
	s := newRunState(t)
	var phases []any
	s.task.WhenDone().AddCallback(func(r any) (any, error) {
		phases = append(phases, r)
		s.coop.Stop()
		phases = append(phases, "done")
		return nil, nil
	})
	s.stopNext = true
	s.sched.pump()
	if !slices.Equal(phases, []any{s.task, "done"}) {
		t.Fatalf("phases %v, want the task, done", phases)
	}
}
