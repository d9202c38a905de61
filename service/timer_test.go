package service

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
)

func TestTimerServiceRunsAtOnceThenEveryInterval(t *testing.T) {
	clk := task.NewClock()
	calls := 0
	ts := NewTimerService(clk, time.Second, func() (any, error) { calls++; return nil, nil })
	if err := ts.StartService(); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !ts.Running() {
		t.Fatalf("after start: %d calls, running %v", calls, ts.Running())
	}
	clk.Pump([]time.Duration{time.Second, time.Second, time.Second})
	if calls != 4 {
		t.Fatalf("after 3 intervals: %d calls, want 4", calls)
	}
	mustResult(t, ts.StopService())
	clk.Advance(3 * time.Second)
	if calls != 4 || ts.Running() {
		t.Fatalf("after stop: %d calls, running %v", calls, ts.Running())
	}
}

func TestTimerServiceStopWaitsForCall(t *testing.T) {
	clk := task.NewClock()
	pending := deferred.New()
	ts := NewTimerService(clk, time.Second, func() (any, error) { return pending, nil })
	ts.StartService()
	d := ts.StopService()
	if d.Called() || !ts.Running() {
		t.Fatalf("stopped while the call's Deferred is pending (fired %v, running %v)", d.Called(), ts.Running())
	}
	pending.Callback(nil)
	mustResult(t, d)
	if ts.Running() {
		t.Fatal("still running")
	}
}

func TestTimerServiceRestart(t *testing.T) {
	clk := task.NewClock()
	calls := 0
	ts := NewTimerService(clk, time.Second, func() (any, error) { calls++; return nil, nil })
	ts.StartService()
	ts.StopService()
	if err := ts.StartService(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	clk.Advance(time.Second)
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
	ts.StopService()
}

func TestTimerServiceLogsFailure(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	clk := task.NewClock()
	ts := NewTimerService(clk, time.Second, func() (any, error) { return nil, errors.New("division by zero") })
	ts.StartService()
	if !strings.Contains(buf.String(), "division by zero") {
		t.Fatalf("log = %q", buf.String())
	}
	if !ts.Running() {
		t.Fatal("failed TimerService stopped running by itself")
	}
	mustResult(t, ts.StopService())
	if ts.Running() {
		t.Fatal("still running after StopService")
	}
}

func TestTimerServiceNegativeInterval(t *testing.T) {
	ts := NewTimerService(task.NewClock(), -time.Second, func() (any, error) { return nil, nil })
	if err := ts.StartService(); !errors.Is(err, task.ErrNegativeInterval) || ts.Running() {
		t.Fatalf("StartService = %v, running %v", err, ts.Running())
	}
	if d := ts.StopService(); d != nil {
		t.Fatalf("StopService of a never-started timer = %v", d)
	}
}

func TestTimerServiceStopWithoutStart(t *testing.T) {
	ts := NewTimerService(task.NewClock(), time.Second, func() (any, error) { return nil, nil })
	if d := ts.StopService(); d != nil {
		t.Fatalf("StopService = %v, want nil", d)
	}
}
