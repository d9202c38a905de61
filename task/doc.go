// Package task holds Twisted's twisted.internet.task: tools for running work
// over time on an event loop.
//
//   - Clock is a fake clock.Clock for tests: time moves only when Advance
//     says so, and the calls that fall due run then, deterministically.
//   - LoopingCall runs a function every interval, skipping the runs it
//     missed, and waits for a Deferred the function returns.
//   - DeferLater runs a function after a delay and returns a Deferred of its
//     result.
//   - Cooperator runs long tasks, written as iterators, a step at a time in
//     turn with each other, yielding to the loop between time slices.
//   - React and RunMain run a reactor until a main function's Deferred
//     fires, and turn its outcome into an exit code.
//
// Everything here takes its clock as a clock.Clock: the reactor in programs,
// a *Clock in tests. None of it is safe for concurrent use: like the rest of
// Twist, it belongs to the loop of its clock.
//
// Twisted names map to Go names as follows: deferLater is DeferLater,
// LoopingCall.withCount is NewLoopingCallWithCount, coiterate and cooperate
// are the Cooperator's Coiterate and Cooperate, react is React, SystemExit
// is ExitError, SchedulerStopped, TaskDone, TaskStopped, TaskFailed and
// NotPaused are ErrSchedulerStopped, ErrTaskDone, ErrTaskStopped,
// ErrTaskFailed and ErrNotPaused. There is no global Cooperator, as there is
// no global reactor: make one on the loop that runs the tasks.
package task
