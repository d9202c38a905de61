package twisttest_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// runner is what code that starts and stops a reactor uses: a real Reactor
// and a MemoryReactor both have it.
type runner interface {
	Run() error
	Stop() error
	Running() bool
	CallWhenRunning(f func())
	AddSystemEventTrigger(phase reactor.Phase, event string, f func() *deferred.Deferred) reactor.TriggerID
	RemoveSystemEventTrigger(id reactor.TriggerID) error
	FireSystemEvent(event string)
}

var (
	_ runner = (*reactor.Reactor)(nil)
	_ runner = (*twisttest.MemoryReactor)(nil)
)

// Run fires startup, runs the CallWhenRunning functions after it, and
// stops: shutdown's triggers run in their phases, and Running follows.
func TestMemoryReactorRun(t *testing.T) {
	m := twisttest.NewMemoryReactorClock()
	var log []string
	note := func(s string) func() *deferred.Deferred {
		return func() *deferred.Deferred {
			log = append(log, s)
			return nil
		}
	}
	m.CallWhenRunning(func() { log = append(log, "running") })
	m.AddSystemEventTrigger(reactor.Before, "startup", note("before startup"))
	m.AddSystemEventTrigger(reactor.After, "shutdown", note("after shutdown"))
	removed := m.AddSystemEventTrigger(reactor.Before, "shutdown", note("removed"))
	if err := m.RemoveSystemEventTrigger(removed); err != nil {
		t.Fatal(err)
	}
	if m.Running() || m.Stopped() {
		t.Fatal("running or stopped before Run")
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"before startup", "running", "after shutdown"}; !slices.Equal(log, want) {
		t.Fatalf("ran %q, want %q", log, want)
	}
	if m.Running() || !m.Stopped() {
		t.Fatalf("running %v, stopped %v after Run", m.Running(), m.Stopped())
	}
	if err := m.Run(); !errors.Is(err, reactor.ErrNotRestartable) {
		t.Fatalf("second Run: %v", err)
	}
	if err := m.Stop(); !errors.Is(err, reactor.ErrNotRunning) {
		t.Fatalf("Stop after Run: %v", err)
	}
}

// A Before shutdown trigger's Deferred holds the shutdown until the test
// fires it, and a function run while running runs at once.
func TestMemoryReactorShutdownWaitsForBeforeTriggers(t *testing.T) {
	m := &twisttest.MemoryReactor{}
	wait := deferred.New()
	m.AddSystemEventTrigger(reactor.Before, "shutdown", func() *deferred.Deferred { return wait })
	var stopErr error
	m.CallWhenRunning(func() {
		ran := false
		m.CallWhenRunning(func() { ran = true })
		if !ran {
			t.Error("CallWhenRunning while running did not run at once")
		}
		if err := m.Run(); !errors.Is(err, reactor.ErrAlreadyRunning) {
			t.Errorf("Run while running: %v", err)
		}
		stopErr = m.Stop()
	})
	if err := m.Run(); err != nil || stopErr != nil {
		t.Fatal(err, stopErr)
	}
	if !m.Running() {
		t.Fatal("stopped before the Before trigger's Deferred fired")
	}
	wait.Callback(nil)
	if m.Running() || !m.Stopped() {
		t.Fatal("not stopped once the Before trigger's Deferred fired")
	}
}
