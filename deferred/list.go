package deferred

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// A ListOption changes how List, Dict and Gather combine their Deferreds
// (Twisted's DeferredList keyword arguments). Options combine with |, or
// are passed one by one.
type ListOption uint8

const (
	// FireOnOneCallback makes the list fire as soon as one Deferred
	// succeeds, with a FirstResult. If none succeeds the list fires with all
	// the outcomes as usual, and an empty list never fires.
	FireOnOneCallback ListOption = 1 << iota
	// FireOnOneErrback makes the list fail as soon as one Deferred fails,
	// with a *FirstError.
	FireOnOneErrback
	// ConsumeErrors handles the failures of the Deferreds: once the list
	// has recorded a failure, that Deferred's result is nil, so that no
	// "Unhandled error in Deferred" is reported for it. Without it the
	// Deferreds keep their results.
	ConsumeErrors
)

// An Outcome is how one Deferred of a List or Dict fired (one of Twisted's
// (success, result) pairs).
type Outcome struct {
	// OK is true if the Deferred succeeded (Twisted's SUCCESS).
	OK bool
	// Value is the result of a Deferred that succeeded.
	Value any
	// Failure is the result of a Deferred that failed.
	Failure *Failure
}

// FirstResult is the result of a List or Dict with FireOnOneCallback, and of
// Race: the first success.
type FirstResult struct {
	// Value is the result of the Deferred that succeeded first.
	Value any
	// Index is that Deferred's position in the list; for a Dict, its
	// position among the sorted keys.
	Index int
	// Key is that Deferred's key in a Dict; it is empty for a List.
	Key string
}

// FirstError is the error of a List or Dict with FireOnOneErrback, and of
// Gather: the first failure (Twisted's FirstError). It wraps that failure, so
// errors.Is and errors.As see through it to the original error.
type FirstError struct {
	// Failure is the failure of the Deferred that failed first.
	Failure *Failure
	// Index is that Deferred's position in the list; for a Dict, its
	// position among the sorted keys.
	Index int
	// Key is that Deferred's key in a Dict; it is empty for a List.
	Key string
}

// Error names the Deferred that failed and gives the failure's message.
func (e *FirstError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("deferred: Deferred %q failed: %v", e.Key, e.Failure)
	}
	return fmt.Sprintf("deferred: Deferred #%d failed: %v", e.Index, e.Failure)
}

// Unwrap returns the failure.
func (e *FirstError) Unwrap() error {
	if e.Failure == nil {
		return nil
	}
	return e.Failure
}

// List returns a Deferred that fires once every Deferred of ds has fired
// (Twisted's DeferredList), with a []Outcome in the order of ds. A List never
// fails unless FireOnOneErrback is given; see ListOption for the others.
//
// List adds a callback to each Deferred of ds at the time of the call: the
// result a Deferred has at that point of its chain is the one recorded, and
// callbacks added to it later run after the List has seen the result. A
// Deferred that has already fired is recorded at once, so a List of fired
// Deferreds has fired when List returns, and so has a List of none (with an
// empty slice), except with FireOnOneCallback.
//
// Once the List has fired, later results of its Deferreds are recorded in the
// []Outcome it fired with but change nothing else.
//
// Cancelling the List cancels each of ds that has not fired (a panic in a
// canceller is logged and the others are still cancelled); the List then
// fires as their results come in, usually at once with their ErrCancelled
// failures. As in Twisted, a Deferred that could not be stopped (a paused
// one, say) keeps the List waiting for it.
func List(ds []*Deferred, opts ...ListOption) *Deferred {
	return collect(ds, nil, opts).d
}

// Dict is List for Deferreds known by name: it fires with a
// map[string]Outcome. FirstResult and FirstError carry the Key of the
// Deferred that fired first; Deferreds that fired before the call are seen in
// the order of their sorted keys.
func Dict(m map[string]*Deferred, opts ...ListOption) *Deferred {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ds := make([]*Deferred, len(keys))
	for i, k := range keys {
		ds[i] = m[k]
	}
	return collect(ds, keys, opts).d
}

// Gather returns a Deferred that fires with the values of ds, as a []any in
// the order of ds, once all have succeeded, or fails with a *FirstError as
// soon as one fails (Twisted's gatherResults). Cancelling it cancels each of
// ds that has not fired.
//
// Of the options only ConsumeErrors is meaningful (FireOnOneErrback is
// implied); Gather panics if given FireOnOneCallback.
func Gather(ds []*Deferred, opts ...ListOption) *Deferred {
	o := combine(opts)
	if o&FireOnOneCallback != 0 {
		panic("deferred: Gather with FireOnOneCallback")
	}
	return List(ds, o|FireOnOneErrback).AddCallback(func(result any) (any, error) {
		outcomes := result.([]Outcome)
		values := make([]any, len(outcomes))
		for i, o := range outcomes {
			values[i] = o.Value
		}
		return values, nil
	})
}

func combine(opts []ListOption) ListOption {
	var all ListOption
	for _, o := range opts {
		all |= o
	}
	return all
}

// collector is the state behind a List or a Dict.
type collector struct {
	d        *Deferred
	members  []*Deferred
	outcomes []Outcome
	keys     []string // nil for a List
	opts     ListOption
	finished int
}

func collect(ds []*Deferred, keys []string, opts []ListOption) *collector {
	c := &collector{
		// A copy, so that changes to the caller's slice do not change what
		// Cancel cancels.
		members:  slices.Clone(ds),
		outcomes: make([]Outcome, len(ds)),
		keys:     keys,
		opts:     combine(opts),
	}
	c.d = NewWithCanceller(c.cancel)
	c.d.cancelWaits = true
	if len(ds) == 0 && c.opts&FireOnOneCallback == 0 {
		c.d.Callback(c.result())
	}
	for i, m := range c.members {
		m.AddBoth(func(result any) (any, error) { return c.record(i, result) })
	}
	return c
}

// record is the callback each member gets: it stores the member's outcome,
// fires the list if that completes it, and passes the result on.
func (c *collector) record(i int, result any) (any, error) {
	f, failed := result.(*Failure)
	if failed {
		c.outcomes[i] = Outcome{Failure: f}
	} else {
		c.outcomes[i] = Outcome{OK: true, Value: result}
	}
	c.finished++
	if !c.d.Called() {
		switch {
		case !failed && c.opts&FireOnOneCallback != 0:
			c.d.Callback(FirstResult{Value: result, Index: i, Key: c.key(i)})
		case failed && c.opts&FireOnOneErrback != 0:
			c.d.Errback(&FirstError{Failure: f, Index: i, Key: c.key(i)})
		case c.finished == len(c.outcomes):
			c.d.Callback(c.result())
		}
	}
	if failed && c.opts&ConsumeErrors != 0 {
		return nil, nil
	}
	return result, nil
}

func (c *collector) key(i int) string {
	if c.keys == nil {
		return ""
	}
	return c.keys[i]
}

func (c *collector) result() any {
	if c.keys == nil {
		return c.outcomes
	}
	m := make(map[string]Outcome, len(c.keys))
	for i, k := range c.keys {
		m[k] = c.outcomes[i]
	}
	return m
}

// cancel is the list's canceller.
func (c *collector) cancel(*Deferred) {
	for i, m := range c.members {
		cancelLogged(m, i)
	}
}

// cancelLogged cancels d, logging a panic of its canceller instead of letting
// it stop the cancellation of the other members (as Twisted does).
func cancelLogged(d *Deferred, i int) {
	defer func() {
		if r := recover(); r != nil {
			f := panicFailure(r)
			slog.Default().Error("Panic in the canceller of a Deferred cancelled by List",
				"index", i, "error", f.Error(), "traceback", f.Traceback())
		}
	}()
	d.Cancel()
}

// FailureGroup is the error of a Race whose Deferreds all failed (Twisted's
// FailureGroup). It wraps every failure: errors.Is and errors.As match any
// of them.
type FailureGroup struct {
	// Failures holds the failures in the order of the Deferreds.
	Failures []*Failure
}

// Error gives the number of failures and their messages.
func (g *FailureGroup) Error() string {
	msgs := make([]string, len(g.Failures))
	for i, f := range g.Failures {
		msgs[i] = f.Error()
	}
	return fmt.Sprintf("deferred: all %d Deferreds failed: %s", len(g.Failures), strings.Join(msgs, "; "))
}

// Unwrap returns the failures.
func (g *FailureGroup) Unwrap() []error {
	errs := make([]error, len(g.Failures))
	for i, f := range g.Failures {
		errs[i] = f
	}
	return errs
}

// Race returns a Deferred that fires with the first success among ds, as a
// FirstResult, and then cancels all the others (Twisted's race). If all of ds
// fail it fails with a *FailureGroup holding every failure. Race handles the
// results of ds: each ends with a nil result. Cancelling the Race cancels all
// of ds. As in Twisted, a Race of no Deferreds never fires by itself.
func Race(ds []*Deferred) *Deferred {
	r := &racer{
		members:  slices.Clone(ds),
		failures: make([]*Failure, len(ds)),
		winner:   -1,
	}
	r.d = NewWithCanceller(func(*Deferred) {
		for _, m := range r.members {
			m.Cancel()
		}
	})
	for i, m := range r.members {
		m.AddBoth(func(result any) (any, error) {
			r.settle(i, result)
			return nil, nil
		})
	}
	return r.d
}

type racer struct {
	d        *Deferred
	members  []*Deferred
	failures []*Failure
	failed   int
	winner   int
}

func (r *racer) settle(i int, result any) {
	if f, ok := result.(*Failure); ok {
		r.failures[i] = f
		r.failed++
		if r.failed == len(r.members) {
			r.d.Errback(&FailureGroup{Failures: r.failures})
		}
		return
	}
	// A second success can only come from a canceller that fires its
	// Deferred with a value; it is dropped.
	if r.winner >= 0 {
		return
	}
	r.winner = i
	for j, m := range r.members {
		if j != i {
			m.Cancel()
		}
	}
	r.d.Callback(FirstResult{Value: result, Index: i})
}
