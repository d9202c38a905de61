package service

import (
	"log/slog"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

// TimerService runs a function every interval while it runs, the first time
// as it starts (Twisted's TimerService): a task.LoopingCall as a service.
// A function that fails, or whose Deferred fails, stops the calls; the
// failure is logged and the service stays "running" until stopped.
type TimerService struct {
	Base
	clk      clock.Clock
	interval time.Duration
	f        func() (any, error)
	loop     *task.LoopingCall
	finished *deferred.Deferred
}

// NewTimerService returns a stopped TimerService that calls f every interval
// on clk (the reactor, or a *task.Clock in tests).
func NewTimerService(clk clock.Clock, interval time.Duration, f func() (any, error)) *TimerService {
	return &TimerService{clk: clk, interval: interval, f: f}
}

// StartService starts the calls with a new LoopingCall, so that a stopped
// TimerService can be started again.
func (t *TimerService) StartService() error {
	loop := task.NewLoopingCall(t.clk, t.f)
	d, err := loop.Start(t.interval, true)
	if err != nil {
		return err
	}
	t.loop = loop
	t.Base.StartService()
	t.finished = d.AddErrback(func(f *deferred.Failure) (any, error) {
		slog.Default().Error("TimerService function failed", "err", f.Unwrap())
		return nil, nil
	})
	return nil
}

// StopService stops the calls. The returned Deferred fires once a call in
// progress (or its Deferred) is over.
func (t *TimerService) StopService() *deferred.Deferred {
	if t.loop == nil {
		return t.Base.StopService()
	}
	if t.loop.Running() {
		t.loop.Stop()
	}
	d := t.finished
	t.loop, t.finished = nil, nil
	return d.AddCallback(func(any) (any, error) {
		t.Base.StopService()
		return nil, nil
	})
}
