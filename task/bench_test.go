package task_test

import (
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

// BenchmarkClockCallLaterAdvance schedules a call and runs it.
func BenchmarkClockCallLaterAdvance(b *testing.B) {
	c := task.NewClock()
	f := func() {}
	for b.Loop() {
		c.CallLater(time.Second, f)
		c.Advance(time.Second)
	}
}

// BenchmarkLoopingCallRun measures one run of a LoopingCall: the call, the
// scheduling of the next and the clock's dispatch.
func BenchmarkLoopingCallRun(b *testing.B) {
	c := task.NewClock()
	lc := task.NewLoopingCall(c, func() (any, error) { return nil, nil })
	lc.Start(time.Second, false)
	for b.Loop() {
		c.Advance(time.Second)
	}
}

// BenchmarkCooperatorStep measures one step of a cooperative task, in a
// slice of its own: the iterator's resumption and the slice's scheduling.
func BenchmarkCooperatorStep(b *testing.B) {
	var tick func()
	coop := task.NewCooperator(nil, task.WithTerminator(oneStep), task.WithScheduler(func(f func()) func() {
		tick = f
		return func() {}
	}))
	coop.Coiterate(func(yield func(*deferred.Deferred) bool) {
		for yield(nil) {
		}
	})
	for b.Loop() {
		tick()
	}
	coop.Stop()
}
