package task

import (
	"iter"
	"slices"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
)

// taskError is an error of the cooperative scheduler; those that mean a task
// has finished match ErrTaskFinished with errors.Is.
type taskError struct {
	msg      string
	finished bool
}

func (e *taskError) Error() string { return e.msg }

func (e *taskError) Is(target error) bool { return e.finished && target == ErrTaskFinished }

var (
	// ErrSchedulerStopped is the failure of the tasks of a Cooperator that
	// stopped, and of tasks given to a stopped Cooperator (Twisted's
	// SchedulerStopped).
	ErrSchedulerStopped error = &taskError{msg: "task: cooperator stopped"}
	// ErrTaskFinished is matched, with errors.Is, by ErrTaskDone,
	// ErrTaskStopped and ErrTaskFailed: the task cannot run any more.
	ErrTaskFinished error = &taskError{msg: "task: task finished", finished: true}
	// ErrTaskDone is returned by operations on a task whose iterator is
	// exhausted.
	ErrTaskDone error = &taskError{msg: "task: task done", finished: true}
	// ErrTaskStopped is returned by operations on a stopped task, and is the
	// failure of its WhenDone Deferreds.
	ErrTaskStopped error = &taskError{msg: "task: task stopped", finished: true}
	// ErrTaskFailed is returned by operations on a task that failed.
	ErrTaskFailed error = &taskError{msg: "task: task failed", finished: true}
	// ErrNotPaused is returned by CooperativeTask.Resume on a task that is
	// not paused.
	ErrNotPaused error = &taskError{msg: "task: task not paused"}
)

// DefaultSlice is how long a Cooperator by default runs steps before it
// yields to the loop: Twisted's 0.01 s.
const DefaultSlice = 10 * time.Millisecond

// A Scheduler arranges for f to run later on the loop, and returns a
// function that cancels that run. A Cooperator uses it to schedule each of its
// time slices.
type Scheduler func(f func()) (cancel func())

// CooperatorOption configures a Cooperator.
type CooperatorOption func(*Cooperator)

// WithScheduler makes the Cooperator schedule its time slices with s instead
// of its clock.
func WithScheduler(s Scheduler) CooperatorOption {
	return func(c *Cooperator) { c.schedule = s }
}

// WithTerminator sets when a time slice ends (Twisted's
// terminationPredicateFactory): factory is called at the start of each
// slice and returns a function that is asked after every step whether the
// slice is over. The default ends a slice once DefaultSlice of real time has
// passed; a terminator that always returns true runs one step per slice.
func WithTerminator(factory func() func() bool) CooperatorOption {
	return func(c *Cooperator) { c.terminator = factory }
}

// NotStarted makes a new Cooperator hold its tasks until Start is called.
func NotStarted() CooperatorOption {
	return func(c *Cooperator) { c.started = false }
}

// A Cooperator runs tasks cooperatively on one loop (Twisted's Cooperator):
// each task is an iterator whose every step does a small piece of work, and
// the Cooperator runs steps of all its runnable tasks in turn for a time
// slice, then yields to the loop and schedules the next slice. A step that
// yields a non-nil *deferred.Deferred pauses its task until that Deferred
// fires; a failure of the Deferred fails the task.
//
// This serves to run long computations without blocking the loop, to limit
// how many of a set of tasks run at once, and to do asynchronous operations
// one after another.
//
// A Cooperator belongs to its clock's loop: use it from that loop only.
type Cooperator struct {
	schedule   Scheduler
	terminator func() func() bool
	// tickFunc is tick as a func value, made once: a method value
	// allocates each time it is taken.
	tickFunc func()
	// runnable are the tasks that are neither paused nor finished, in the
	// order they take turns; next is the index of the one to step next.
	runnable []*CooperativeTask
	next     int
	// live are the unfinished tasks, paused ones included, for Stop.
	live []*CooperativeTask
	// cancel cancels the scheduled slice, nil when none is.
	cancel              func()
	started, stopped    bool
	mustScheduleOnStart bool
}

// NewCooperator returns a Cooperator that schedules its time slices on clk,
// each on the next turn of the loop (CallLater with 0). clk may be nil if
// WithScheduler is given.
func NewCooperator(clk clock.Clock, opts ...CooperatorOption) *Cooperator {
	c := &Cooperator{started: true, terminator: timeSlice}
	c.tickFunc = c.tick
	if clk != nil {
		c.schedule = func(f func()) func() {
			call := clk.CallLater(0, f)
			return func() { call.Cancel() }
		}
	}
	for _, o := range opts {
		o(c)
	}
	if c.schedule == nil {
		panic("task: NewCooperator needs a clock or WithScheduler")
	}
	return c
}

// timeSlice ends a slice after DefaultSlice of real time. Real time only sets
// how many steps a slice holds, never the order in which tasks take turns.
func timeSlice() func() bool {
	end := time.Now().Add(DefaultSlice)
	return func() bool { return !time.Now().Before(end) }
}

// Cooperate adds it to the Cooperator as a new task and returns the task.
// The task's first step runs in the next time slice, never inside
// Cooperate.
//
// The iterator runs under iter.Pull: each step runs the iterator's body up to
// its next yield, synchronously on the loop. When the task stops before the
// iterator is exhausted, yield returns false so that the body can return.
// A panic in the body fails the task with a *deferred.PanicError.
func (c *Cooperator) Cooperate(it iter.Seq[*deferred.Deferred]) *CooperativeTask {
	t := &CooperativeTask{coop: c}
	t.next, t.stop = iter.Pull(it)
	if c.stopped {
		t.completeWith(ErrSchedulerStopped, deferred.NewFailure(ErrSchedulerStopped))
		return t
	}
	c.live = append(c.live, t)
	c.add(t)
	return t
}

// Coiterate runs it as a task, as Cooperate does, and returns a Deferred that
// fires when the iterator is exhausted, or fails when the task fails or
// stops (it is the task's WhenDone).
func (c *Cooperator) Coiterate(it iter.Seq[*deferred.Deferred]) *deferred.Deferred {
	return c.Cooperate(it).WhenDone()
}

// Start makes a Cooperator made with NotStarted, or stopped, run tasks again.
func (c *Cooperator) Start() {
	c.stopped = false
	c.started = true
	if c.mustScheduleOnStart {
		c.mustScheduleOnStart = false
		c.reschedule()
	}
}

// Stop stops the Cooperator: every unfinished task, paused ones included,
// fails with ErrSchedulerStopped, and so does every task added until Start
// is called again.
func (c *Cooperator) Stop() {
	c.stopped = true
	live := c.live
	c.live, c.runnable, c.next = nil, nil, 0
	c.cancelSlice()
	for _, t := range live {
		t.completeWith(ErrSchedulerStopped, deferred.NewFailure(ErrSchedulerStopped))
	}
}

// Running reports whether the Cooperator has been started and not stopped.
func (c *Cooperator) Running() bool { return c.started && !c.stopped }

// add makes t runnable.
func (c *Cooperator) add(t *CooperativeTask) {
	c.runnable = append(c.runnable, t)
	c.reschedule()
}

// remove takes t out of the runnable tasks, and cancels the next slice if
// none are left, so that an idle Cooperator leaves nothing scheduled.
func (c *Cooperator) remove(t *CooperativeTask) {
	i := slices.Index(c.runnable, t)
	if i < 0 {
		return
	}
	c.runnable = slices.Delete(c.runnable, i, i+1)
	if i < c.next {
		c.next--
	}
	if len(c.runnable) == 0 {
		c.cancelSlice()
	}
}

func (c *Cooperator) cancelSlice() {
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
}

func (c *Cooperator) reschedule() {
	if !c.started {
		c.mustScheduleOnStart = true
		return
	}
	if c.cancel == nil && len(c.runnable) > 0 {
		c.cancel = c.schedule(c.tickFunc)
	}
}

// tick runs one time slice: steps of the runnable tasks in turn, taking up
// where the last slice left off, until the slice is over or no task is
// runnable.
func (c *Cooperator) tick() {
	c.cancel = nil
	over := c.terminator()
	for len(c.runnable) > 0 {
		if c.next >= len(c.runnable) {
			c.next = 0
		}
		t := c.runnable[c.next]
		c.next++
		t.step()
		if over() {
			break
		}
	}
	c.reschedule()
}

// A CooperativeTask is an iterator running in a Cooperator (Twisted's
// CooperativeTask). It can be paused, resumed and stopped, and WhenDone
// tells when it is over.
type CooperativeTask struct {
	coop *Cooperator
	next func() (*deferred.Deferred, bool)
	stop func()
	// waiters are the Deferreds from WhenDone, fired on completion.
	waiters []*deferred.Deferred
	paused  int
	// state is nil while the task is unfinished, then the error that says
	// how it finished; result is what WhenDone fires with.
	state  error
	result any
	// stepping is true while the iterator's body runs, when iter.Pull's stop
	// must wait for it to yield.
	stepping bool
}

// WhenDone returns a new Deferred that fires with t when its iterator is
// exhausted, or fails with the error the iterator failed with, or with
// ErrTaskStopped or ErrSchedulerStopped. Each call returns a new Deferred,
// so that callbacks added to one do not change what the others see.
func (t *CooperativeTask) WhenDone() *deferred.Deferred {
	d := deferred.New()
	if t.state == nil {
		t.waiters = append(t.waiters, d)
	} else {
		d.Callback(t.result)
	}
	return d
}

// Pause stops t from running until Resume is called as many times as Pause
// was. It returns the error that says how t finished if it has.
func (t *CooperativeTask) Pause() error {
	if t.state != nil {
		return t.state
	}
	t.paused++
	if t.paused == 1 {
		t.coop.remove(t)
	}
	return nil
}

// Resume undoes one Pause; when none remain, t takes its turns again from the
// next time slice. Resuming a task that finished while paused does nothing.
// Resume returns ErrNotPaused if t is not paused.
func (t *CooperativeTask) Resume() error {
	if t.paused == 0 {
		return ErrNotPaused
	}
	t.paused--
	if t.paused == 0 && t.state == nil {
		t.coop.add(t)
	}
	return nil
}

// Stop ends t: it takes no more steps, and its WhenDone Deferreds fail with
// ErrTaskStopped. It returns the error that says how t finished if it has.
func (t *CooperativeTask) Stop() error {
	if t.state != nil {
		return t.state
	}
	t.completeWith(ErrTaskStopped, deferred.NewFailure(ErrTaskStopped))
	return nil
}

// step runs the iterator up to its next yield.
func (t *CooperativeTask) step() {
	wait, ok, panicked := t.pull()
	switch {
	case t.state != nil:
		// The step itself finished the task, stopping it or its Cooperator.
	case panicked != nil:
		t.completeWith(ErrTaskFailed, panicked)
	case !ok:
		t.completeWith(ErrTaskDone, t)
	case wait != nil:
		t.Pause()
		wait.AddCallbacks(func(any) (any, error) {
			t.Resume()
			return nil, nil
		}, func(f *deferred.Failure) (any, error) {
			if t.state != nil {
				// Nobody waits for this step any more; leave the failure
				// on its Deferred, to be reported if unhandled.
				return nil, f
			}
			t.completeWith(ErrTaskFailed, f)
			return nil, nil
		})
	}
	if t.state != nil {
		t.stop()
	}
}

// pull calls next, turning a panic in the iterator's body into a failure.
func (t *CooperativeTask) pull() (wait *deferred.Deferred, ok bool, panicked *deferred.Failure) {
	t.stepping = true
	defer func() {
		t.stepping = false
		if r := recover(); r != nil {
			panicked = deferred.NewFailure(&deferred.PanicError{Value: r})
		}
	}()
	wait, ok = t.next()
	return wait, ok, nil
}

// completeWith finishes t with state and fires its WhenDone Deferreds with
// result. They fire after t has left its Cooperator, so that their callbacks
// may change the Cooperator and its tasks.
func (t *CooperativeTask) completeWith(state error, result any) {
	t.state, t.result = state, result
	if t.paused == 0 {
		t.coop.remove(t)
	}
	if i := slices.Index(t.coop.live, t); i >= 0 {
		t.coop.live = slices.Delete(t.coop.live, i, i+1)
	}
	if !t.stepping {
		// Release the iterator now; a step in progress does it when the
		// body yields, as iter.Pull's stop cannot run inside the body.
		t.stop()
	}
	waiters := t.waiters
	t.waiters = nil
	for _, d := range waiters {
		d.Callback(result)
	}
}
