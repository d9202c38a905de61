package reactor

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/twistgo/twist/deferred"
)

// Phase is one of the three phases of a system event.
type Phase int

// The phases of a system event, in the order they run.
const (
	// Before triggers run first; the Deferreds they return are waited for
	// before the During phase starts.
	Before Phase = iota
	// During triggers run once every Before Deferred has fired.
	During
	// After triggers run right after the During triggers.
	After
)

// String returns Twisted's name for the phase.
func (p Phase) String() string {
	switch p {
	case Before:
		return "before"
	case During:
		return "during"
	case After:
		return "after"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// ErrNoSuchTrigger is returned by RemoveSystemEventTrigger for a trigger
// that was never added, was already removed, or has already run.
var ErrNoSuchTrigger = errors.New("reactor: no such system event trigger")

// TriggerID identifies a trigger added by AddSystemEventTrigger. The zero
// TriggerID identifies none.
type TriggerID struct {
	event string
	phase Phase
	id    uint64
}

type trigger struct {
	id uint64
	f  func() *deferred.Deferred
}

// threePhaseEvent is Twisted's _ThreePhaseEvent: the triggers of one event.
// Triggers are taken off their list as they run, so firing an event again
// runs only the triggers added since.
type threePhaseEvent struct {
	phases [3][]trigger
	// finishedBefore, while the Before phase is waiting for its Deferreds,
	// holds the Before triggers that have run: removing one is not an error.
	finishedBefore []uint64
	firingBefore   bool
}

// SystemEvents holds system event triggers and fires them (Twisted's
// _ThreePhaseEvent, one per event): a Reactor keeps its own in one, and
// twisttest's MemoryReactor too, so that both fire events alike. Its zero
// value is ready to use. Like a Reactor, it belongs to one loop.
type SystemEvents struct {
	// Log receives the failures of Before Deferreds and the panics of
	// triggers; nil means slog.Default().
	Log *slog.Logger

	events map[string]*threePhaseEvent
	seq    uint64
}

// AddSystemEventTrigger adds f to the given phase of event and returns an ID
// for RemoveSystemEventTrigger. The reactor fires "startup" in Run and
// "shutdown" after Stop; FireSystemEvent fires any event. f may return nil
// or a Deferred; only the Deferreds of Before triggers are waited for.
// Triggers of one phase run in the order they were added, each once.
// It panics if phase is not Before, During or After.
func (r *Reactor) AddSystemEventTrigger(phase Phase, event string, f func() *deferred.Deferred) TriggerID {
	return r.triggers.AddSystemEventTrigger(phase, event, f)
}

// RemoveSystemEventTrigger removes a trigger that has not run yet. It returns
// ErrNoSuchTrigger if there is no such trigger; removing a Before trigger that
// has run while its event waits for the Before Deferreds is allowed and does
// nothing, as in Twisted.
func (r *Reactor) RemoveSystemEventTrigger(id TriggerID) error {
	return r.triggers.RemoveSystemEventTrigger(id)
}

// FireSystemEvent fires event: it runs the Before triggers, waits for the
// Deferreds they returned, then runs the During and the After triggers.
// The later phases run from the callback of the last Deferred to fire, or
// at once if there is none. A Before Deferred that fails is logged.
func (r *Reactor) FireSystemEvent(event string) { r.triggers.FireSystemEvent(event) }

// AddSystemEventTrigger adds a trigger, as Reactor.AddSystemEventTrigger
// does.
func (s *SystemEvents) AddSystemEventTrigger(phase Phase, event string, f func() *deferred.Deferred) TriggerID {
	if phase < Before || phase > After {
		panic(fmt.Sprintf("reactor: invalid system event phase %d", int(phase)))
	}
	ev := s.events[event]
	if ev == nil {
		if s.events == nil {
			s.events = make(map[string]*threePhaseEvent)
		}
		ev = &threePhaseEvent{}
		s.events[event] = ev
	}
	s.seq++
	ev.phases[phase] = append(ev.phases[phase], trigger{id: s.seq, f: f})
	return TriggerID{event: event, phase: phase, id: s.seq}
}

// RemoveSystemEventTrigger removes a trigger, as
// Reactor.RemoveSystemEventTrigger does.
func (s *SystemEvents) RemoveSystemEventTrigger(id TriggerID) error {
	ev := s.events[id.event]
	if ev == nil || id.id == 0 {
		return ErrNoSuchTrigger
	}
	list := ev.phases[id.phase]
	for i, t := range list {
		if t.id == id.id {
			ev.phases[id.phase] = append(list[:i:i], list[i+1:]...)
			return nil
		}
	}
	if ev.firingBefore && id.phase == Before {
		for _, done := range ev.finishedBefore {
			if done == id.id {
				return nil
			}
		}
	}
	return ErrNoSuchTrigger
}

// FireSystemEvent fires event, as Reactor.FireSystemEvent does.
func (s *SystemEvents) FireSystemEvent(event string) {
	ev := s.events[event]
	if ev == nil {
		return
	}
	ev.firingBefore = true
	ev.finishedBefore = ev.finishedBefore[:0]
	pending := 1 // the Before phase itself, until all its triggers have run
	done := func() {
		pending--
		if pending == 0 {
			s.continueFiring(event, ev)
		}
	}
	for len(ev.phases[Before]) > 0 {
		t := ev.take(Before)
		ev.finishedBefore = append(ev.finishedBefore, t.id)
		d := s.callTrigger(event, t.f)
		if d == nil {
			continue
		}
		pending++
		d.AddBoth(func(result any) (any, error) {
			if f, ok := result.(*deferred.Failure); ok {
				s.log().Error("reactor: a before-"+event+" trigger's Deferred failed",
					"error", f.Error(), "traceback", f.Traceback())
				result = nil
			}
			done()
			return result, nil
		})
	}
	done()
}

// continueFiring runs the During and After phases of ev.
func (s *SystemEvents) continueFiring(event string, ev *threePhaseEvent) {
	ev.firingBefore = false
	ev.finishedBefore = ev.finishedBefore[:0]
	for _, phase := range []Phase{During, After} {
		for len(ev.phases[phase]) > 0 {
			s.callTrigger(event, ev.take(phase).f)
		}
	}
}

// take removes and returns the first trigger of phase.
func (ev *threePhaseEvent) take(phase Phase) trigger {
	list := ev.phases[phase]
	t := list[0]
	list[0] = trigger{}
	ev.phases[phase] = list[1:]
	return t
}

// callTrigger runs a trigger, recovering and logging a panic.
func (s *SystemEvents) callTrigger(event string, f func() *deferred.Deferred) (d *deferred.Deferred) {
	defer func() {
		if v := recover(); v != nil {
			s.log().Error("reactor: panic in system event trigger for "+event, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	return f()
}

func (s *SystemEvents) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
