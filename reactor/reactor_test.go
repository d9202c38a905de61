package reactor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// The tests in this file port Twisted's SystemEventTestsBuilder
// (src/twisted/internet/test/test_core.py).

func trig(f func()) func() *deferred.Deferred {
	return func() *deferred.Deferred { f(); return nil }
}

func TestStopWhenNotStarted(t *testing.T) {
	r, _ := newReactor(t)
	if err := r.Stop(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Stop before Run = %v, want ErrNotRunning", err)
	}
}

func TestStopWhenAlreadyStopped(t *testing.T) {
	r, _ := newReactor(t)
	r.CallWhenRunning(func() { stop(t, r) })
	run(t, r)
	if err := r.Stop(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Stop after Run = %v, want ErrNotRunning", err)
	}
}

func TestStopTwice(t *testing.T) {
	r, _ := newReactor(t)
	var second error
	r.CallWhenRunning(func() {
		stop(t, r)
		second = r.Stop()
	})
	run(t, r)
	if !errors.Is(second, ErrNotRunning) {
		t.Fatalf("second Stop = %v, want ErrNotRunning", second)
	}
}

func TestCallWhenRunningOrder(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.CallWhenRunning(func() { events = append(events, "first") })
	r.CallWhenRunning(func() { events = append(events, "second") })
	r.CallWhenRunning(func() {
		// While running, CallWhenRunning calls at once.
		r.CallWhenRunning(func() { events = append(events, "now") })
		events = append(events, "third")
		stop(t, r)
	})
	run(t, r)
	if want := []string{"first", "second", "now", "third"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestRunningForStartupEvents(t *testing.T) {
	r, _ := newReactor(t)
	state := map[string]bool{}
	r.AddSystemEventTrigger(Before, "startup", trig(func() { state["before"] = r.Running() }))
	r.AddSystemEventTrigger(During, "startup", trig(func() { state["during"] = r.Running() }))
	r.AddSystemEventTrigger(After, "startup", trig(func() { state["after"] = r.Running() }))
	r.CallWhenRunning(func() { stop(t, r) })
	if r.Running() {
		t.Fatal("Running before Run")
	}
	run(t, r)
	if !state["during"] || !state["after"] || state["before"] {
		t.Fatalf("Running seen by startup triggers = %v, want before false, during and after true", state)
	}
	if r.Running() {
		t.Fatal("Running after Run returned")
	}
}

func TestStopShutdownEvents(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	for _, p := range []Phase{After, During, Before} {
		r.AddSystemEventTrigger(p, "shutdown", trig(func() { events = append(events, p.String()) }))
	}
	r.CallWhenRunning(func() { stop(t, r) })
	run(t, r)
	if want := []string{"before", "during", "after"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestShutdownFiresTriggersAsynchronously(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.AddSystemEventTrigger(Before, "shutdown", trig(func() { events = append(events, "before shutdown") }))
	r.CallWhenRunning(func() {
		stop(t, r)
		events = append(events, "stopped")
	})
	run(t, r)
	if want := []string{"stopped", "before shutdown"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestShutdownWaitsForBeforeDeferreds(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.AddSystemEventTrigger(Before, "shutdown", func() *deferred.Deferred {
		d := deferred.New()
		// The loop keeps running timers while shutdown waits.
		r.CallLater(0, func() {
			events = append(events, "timer")
			d.Callback(nil)
		})
		return d
	})
	r.AddSystemEventTrigger(During, "shutdown", trig(func() { events = append(events, "during") }))
	r.CallWhenRunning(func() { stop(t, r) })
	run(t, r)
	if want := []string{"timer", "during"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestMultipleRun(t *testing.T) {
	r, _ := newReactor(t)
	var err error
	r.CallWhenRunning(func() { err = r.Run() })
	r.CallWhenRunning(func() { stop(t, r) })
	run(t, r)
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("Run while running = %v, want ErrAlreadyRunning", err)
	}
}

func TestRunWithAsynchronousBeforeStartupTrigger(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.AddSystemEventTrigger(Before, "startup", func() *deferred.Deferred {
		events = append(events, "trigger")
		d := deferred.New()
		d.AddCallback(func(any) (any, error) {
			events = append(events, "callback")
			stop(t, r)
			return nil, nil
		})
		r.CallLater(0, func() { d.Callback(nil) })
		return d
	})
	run(t, r)
	if want := []string{"trigger", "callback"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestRunAfterStop(t *testing.T) {
	r, _ := newReactor(t)
	var err error
	r.CallWhenRunning(func() { stop(t, r) })
	r.AddSystemEventTrigger(After, "shutdown", trig(func() { err = r.Run() }))
	run(t, r)
	if !errors.Is(err, ErrNotRestartable) {
		t.Fatalf("Run in after-shutdown = %v, want ErrNotRestartable", err)
	}
	if err := r.Run(); !errors.Is(err, ErrNotRestartable) {
		t.Fatalf("Run after Run = %v, want ErrNotRestartable", err)
	}
}

func TestClose(t *testing.T) {
	r, _ := newReactor(t)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.Run(); !errors.Is(err, ErrNotRestartable) {
		t.Fatalf("Run after Close = %v, want ErrNotRestartable", err)
	}
}

func TestCloseWhileRunning(t *testing.T) {
	r, _ := newReactor(t)
	var err error
	r.CallWhenRunning(func() {
		err = r.Close()
		stop(t, r)
	})
	run(t, r)
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("Close while running = %v, want ErrAlreadyRunning", err)
	}
}

// TestPanicIsLoggedAndLoopGoesOn checks, for each kind of callback, that a
// panic is logged with its stack and that the next callbacks still run.
func TestPanicIsLoggedAndLoopGoesOn(t *testing.T) {
	tests := []struct {
		name     string
		schedule func(r *Reactor, f func())
		what     string
	}{
		{"CallLater", func(r *Reactor, f func()) { r.CallLater(0, f) }, "delayed call"},
		{"CallFromThread", func(r *Reactor, f func()) { r.CallFromThread(f) }, "call from thread"},
		{"CallWhenRunning", func(r *Reactor, f func()) { r.CallWhenRunning(f) }, "system event trigger for startup"},
		{"FireSystemEvent", func(r *Reactor, f func()) {
			r.AddSystemEventTrigger(During, "custom", trig(f))
			r.CallWhenRunning(func() { r.FireSystemEvent("custom") })
		}, "system event trigger for custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newReactor(t)
			var ran []string
			tt.schedule(r, func() { panic("I fall down.") })
			tt.schedule(r, func() {
				ran = append(ran, "up again")
				stop(t, r)
			})
			run(t, r)
			if !slices.Equal(ran, []string{"up again"}) {
				t.Fatalf("after the panic ran %q, want the next callback", ran)
			}
			msgs := logs.messages()
			if want := []string{"reactor: panic in " + tt.what}; !slices.Equal(msgs, want) {
				t.Fatalf("logged %q, want %q", msgs, want)
			}
			if got := logs.attr(0, "panic"); got != "I fall down." {
				t.Errorf("logged panic value %q", got)
			}
			if stack := logs.attr(0, "stack"); !strings.Contains(stack, "TestPanicIsLoggedAndLoopGoesOn") {
				t.Errorf("logged stack does not show the panicking function:\n%s", stack)
			}
		})
	}
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestDoneClosedOnceStoppedForGood(t *testing.T) {
	t.Run("Run", func(t *testing.T) {
		r, _ := newReactor(t)
		var during []bool
		r.CallWhenRunning(func() {
			during = append(during, isClosed(r.Done()))
			stop(t, r)
		})
		r.AddSystemEventTrigger(After, "shutdown", trig(func() { during = append(during, isClosed(r.Done())) }))
		run(t, r)
		if !slices.Equal(during, []bool{false, false}) {
			t.Errorf("Done closed while running or shutting down: %v", during)
		}
		if !isClosed(r.Done()) {
			t.Error("Done not closed after Run returned")
		}
	})
	t.Run("Close", func(t *testing.T) {
		r, _ := newReactor(t)
		if isClosed(r.Done()) {
			t.Fatal("Done closed before Run")
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if !isClosed(r.Done()) {
			t.Error("Done not closed after Close")
		}
	})
}
