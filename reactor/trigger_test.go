package reactor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// The tests in this file port Twisted's SystemEventTests
// (src/twisted/test/test_internet.py). FireSystemEvent runs on the test's
// goroutine, which owns the reactor before Run.

func TestTriggerPhases(t *testing.T) {
	for _, phase := range []Phase{Before, During, After} {
		t.Run(phase.String(), func(t *testing.T) {
			r, _ := newReactor(t)
			n := 0
			r.AddSystemEventTrigger(phase, "test", trig(func() { n++ }))
			if n != 0 {
				t.Fatal("trigger ran when added")
			}
			r.FireSystemEvent("test")
			if n != 1 {
				t.Fatalf("trigger ran %d times, want 1", n)
			}
			r.FireSystemEvent("test")
			if n != 1 {
				t.Fatal("a trigger ran again when its event fired again")
			}
		})
	}
}

func TestUnknownPhasePanics(t *testing.T) {
	r, _ := newReactor(t)
	defer func() {
		if recover() == nil {
			t.Fatal("AddSystemEventTrigger with an unknown phase did not panic")
		}
	}()
	r.AddSystemEventTrigger(Phase(7), "test", trig(func() {}))
}

func TestPhaseOrder(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	add := func(p Phase, name string) {
		r.AddSystemEventTrigger(p, "test", trig(func() { events = append(events, name) }))
	}
	add(After, "after")
	add(During, "during")
	add(Before, "before 1")
	add(Before, "before 2")
	r.FireSystemEvent("test")
	if want := []string{"before 1", "before 2", "during", "after"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestBeforeReturnsDeferred(t *testing.T) {
	r, _ := newReactor(t)
	first, second := deferred.New(), deferred.New()
	var events []string
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return first })
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return nil })
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return second })
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return deferred.Succeed(1) })
	r.AddSystemEventTrigger(During, "test", trig(func() { events = append(events, "during") }))
	r.FireSystemEvent("test")
	if len(events) != 0 {
		t.Fatal("during ran before the Before Deferreds fired")
	}
	first.Callback(nil)
	if len(events) != 0 {
		t.Fatal("during ran before all the Before Deferreds fired")
	}
	second.Callback("result")
	if want := []string{"during"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
	// The trigger's Deferred keeps its result for its other users.
	if v, err := second.Result(); v != "result" || err != nil {
		t.Fatalf("trigger Deferred result = %v, %v", v, err)
	}
}

func TestSubsequentBeforeTriggerFiresPriorBeforeDeferred(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	first, second := deferred.New(), deferred.New()
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return first })
	r.AddSystemEventTrigger(Before, "test", trig(func() { first.Callback(nil) }))
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred {
		events = append(events, "before")
		return second
	})
	r.AddSystemEventTrigger(During, "test", trig(func() { events = append(events, "during") }))
	r.FireSystemEvent("test")
	if want := []string{"before"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
	second.Callback(nil)
	if want := []string{"before", "during"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestBeforeDeferredFailureIsLogged(t *testing.T) {
	r, logs := newReactor(t)
	d := deferred.New()
	ran := false
	r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return d })
	r.AddSystemEventTrigger(During, "test", trig(func() { ran = true }))
	r.FireSystemEvent("test")
	d.Errback(errors.New("boom"))
	if !ran {
		t.Fatal("a failed Before Deferred stopped the event")
	}
	msgs := logs.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "before-test trigger") || logs.attr(0, "error") != "boom" {
		t.Fatalf("logged %q, want the trigger's failure", msgs)
	}
}

func TestRemoveSystemEventTrigger(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.AddSystemEventTrigger(Before, "test", trig(func() { events = append(events, "first") }))
	id := r.AddSystemEventTrigger(Before, "test", trig(func() { events = append(events, "second") }))
	if err := r.RemoveSystemEventTrigger(id); err != nil {
		t.Fatalf("RemoveSystemEventTrigger: %v", err)
	}
	r.FireSystemEvent("test")
	if want := []string{"first"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestRemoveNonExistentSystemEventTrigger(t *testing.T) {
	r, _ := newReactor(t)
	id := r.AddSystemEventTrigger(During, "test", trig(func() {}))
	if err := r.RemoveSystemEventTrigger(id); err != nil {
		t.Fatal(err)
	}
	ran := r.AddSystemEventTrigger(During, "test", trig(func() {}))
	r.FireSystemEvent("test")
	for name, id := range map[string]TriggerID{
		"zero":            {},
		"removed":         id,
		"already run":     ran,
		"unknown event":   {event: "nope", phase: During, id: id.id},
		"different phase": {event: "test", phase: After, id: ran.id},
	} {
		if err := r.RemoveSystemEventTrigger(id); !errors.Is(err, ErrNoSuchTrigger) {
			t.Errorf("removing the %s trigger = %v, want ErrNoSuchTrigger", name, err)
		}
	}
}

// TestRemoveFiredBeforeTriggerWhileWaiting: while the Before phase waits for
// its Deferreds, removing a Before trigger that has already run is allowed,
// and removing one added since prevents it from running.
func TestRemoveFiredBeforeTriggerWhileWaiting(t *testing.T) {
	r, _ := newReactor(t)
	d := deferred.New()
	id := r.AddSystemEventTrigger(Before, "test", func() *deferred.Deferred { return d })
	r.FireSystemEvent("test")
	if err := r.RemoveSystemEventTrigger(id); err != nil {
		t.Fatalf("removing a fired Before trigger while waiting = %v", err)
	}
	late := r.AddSystemEventTrigger(During, "test", trig(func() { t.Error("removed During trigger ran") }))
	if err := r.RemoveSystemEventTrigger(late); err != nil {
		t.Fatal(err)
	}
	d.Callback(nil)
	if err := r.RemoveSystemEventTrigger(id); !errors.Is(err, ErrNoSuchTrigger) {
		t.Fatalf("removing a fired Before trigger after the event = %v, want ErrNoSuchTrigger", err)
	}
}

func TestInteractionBetweenDifferentEvents(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	firstD, secondD := deferred.New(), deferred.New()
	log := func(s string) func() { return func() { events = append(events, s) } }
	r.AddSystemEventTrigger(Before, "first", func() *deferred.Deferred { log("before first")(); return firstD })
	r.AddSystemEventTrigger(After, "first", trig(log("after first")))
	r.AddSystemEventTrigger(Before, "second", func() *deferred.Deferred { log("before second")(); return secondD })
	r.AddSystemEventTrigger(After, "second", trig(log("after second")))
	r.FireSystemEvent("first")
	r.FireSystemEvent("second")
	firstD.Callback(nil)
	secondD.Callback(nil)
	want := []string{"before first", "before second", "after first", "after second"}
	if !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestTriggersAddedWhileFiringRun(t *testing.T) {
	r, _ := newReactor(t)
	var events []string
	r.AddSystemEventTrigger(During, "test", trig(func() {
		events = append(events, "during")
		r.AddSystemEventTrigger(During, "test", trig(func() { events = append(events, "added during") }))
	}))
	r.AddSystemEventTrigger(After, "test", trig(func() { events = append(events, "after") }))
	r.FireSystemEvent("test")
	if want := []string{"during", "added during", "after"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}

func TestFireUnknownEvent(t *testing.T) {
	r, _ := newReactor(t)
	r.FireSystemEvent("nothing registered") // must not panic
}
