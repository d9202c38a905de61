package deferred_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internal/testlog"
)

var (
	errBang  = errors.New("bang")
	errLater = errors.New("later")
)

// succeededWith returns the value d has fired with, failing the test if d has
// not fired or has failed.
func succeededWith(t *testing.T, d *deferred.Deferred) any {
	t.Helper()
	if !d.Called() {
		t.Fatalf("%v has not fired", d)
	}
	v, err := d.Result()
	if err != nil {
		t.Fatalf("%v failed: %v", d, err)
	}
	return v
}

// failureOf returns the failure d has failed with, failing the test if d has
// not failed. It handles the failure, so that nothing is reported as
// unhandled.
func failureOf(t *testing.T, d *deferred.Deferred) *deferred.Failure {
	t.Helper()
	if !d.Called() {
		t.Fatalf("%v has not fired", d)
	}
	_, err := d.Result()
	if err == nil {
		t.Fatalf("%v did not fail", d)
	}
	d.AddErrback(func(*deferred.Failure) (any, error) { return nil, nil })
	return err.(*deferred.Failure)
}

// failedWithErr is failureOf for a failure that matches target (errors.Is).
func failedWithErr(t *testing.T, d *deferred.Deferred, target error) *deferred.Failure {
	t.Helper()
	f := failureOf(t, d)
	if !errors.Is(f, target) {
		t.Fatalf("%v failed with %v, want %v", d, f, target)
	}
	return f
}

func stillWaiting(t *testing.T, d *deferred.Deferred) {
	t.Helper()
	if d.Called() {
		t.Fatalf("%v has fired", d)
	}
}

func outcomesOf(t *testing.T, d *deferred.Deferred) []deferred.Outcome {
	t.Helper()
	v := succeededWith(t, d)
	outs, ok := v.([]deferred.Outcome)
	if !ok {
		t.Fatalf("fired with %#v, want a []Outcome", v)
	}
	return outs
}

func firstResultOf(t *testing.T, d *deferred.Deferred) deferred.FirstResult {
	t.Helper()
	v := succeededWith(t, d)
	r, ok := v.(deferred.FirstResult)
	if !ok {
		t.Fatalf("fired with %#v, want a FirstResult", v)
	}
	return r
}

func firstErrorOf(t *testing.T, d *deferred.Deferred, target error) *deferred.FirstError {
	t.Helper()
	f := failedWithErr(t, d, target)
	var fe *deferred.FirstError
	if !errors.As(f, &fe) {
		t.Fatalf("failure %v is not a *FirstError", f)
	}
	return fe
}

// callbackCanceller is a canceller that fires its Deferred with a value
// (Twisted's fakeCallbackCanceller).
func callbackCanceller(d *deferred.Deferred) { d.Callback("Callback Result") }

func newDeferreds(n int) []*deferred.Deferred {
	ds := make([]*deferred.Deferred, n)
	for i := range ds {
		ds[i] = deferred.New()
	}
	return ds
}

func TestListFiresWithOutcomesInInputOrder(t *testing.T) {
	ds := newDeferreds(3)
	dl := deferred.List(ds)
	ds[2].Callback("3")
	ds[0].Callback("1")
	stillWaiting(t, dl)
	ds[1].Errback(errBang)
	outs := outcomesOf(t, dl)
	if len(outs) != 3 || !outs[0].OK || outs[0].Value != "1" || outs[1].OK ||
		!errors.Is(outs[1].Failure, errBang) || !outs[2].OK || outs[2].Value != "3" {
		t.Fatalf("outcomes = %+v", outs)
	}
	failedWithErr(t, ds[1], errBang)
}

func TestListOfNoDeferreds(t *testing.T) {
	t.Run("fires at once with an empty slice", func(t *testing.T) {
		outs := outcomesOf(t, deferred.List(nil))
		if outs == nil || len(outs) != 0 {
			t.Fatalf("outcomes = %#v, want an empty slice", outs)
		}
	})
	t.Run("with FireOnOneCallback never fires", func(t *testing.T) {
		stillWaiting(t, deferred.List(nil, deferred.FireOnOneCallback))
	})
	t.Run("with FireOnOneErrback fires at once", func(t *testing.T) {
		outcomesOf(t, deferred.List(nil, deferred.FireOnOneErrback))
	})
}

func TestListFireOnOneErrbackFailsWithTheFirstFailure(t *testing.T) {
	ds := newDeferreds(3)
	dl := deferred.List(ds, deferred.FireOnOneErrback)
	ds[0].Callback("1")
	stillWaiting(t, dl)
	ds[1].Errback(errBang)
	if !dl.Called() {
		t.Fatal("the List did not fire on the first failure")
	}
	// A member failing after the List has fired changes nothing.
	ds[2].Errback(errLater)
	fe := firstErrorOf(t, dl, errBang)
	if fe.Index != 1 || fe.Key != "" || fe.Failure.Value() != errBang {
		t.Fatalf("FirstError = %+v", fe)
	}
	if msg := fe.Error(); !strings.Contains(msg, "#1") || !strings.Contains(msg, "bang") {
		t.Fatalf("FirstError message %q lacks the index or the cause", msg)
	}
	failedWithErr(t, ds[1], errBang)
	failedWithErr(t, ds[2], errLater)
}

func TestListFireOnOneCallbackFiresWithTheFirstSuccess(t *testing.T) {
	ds := newDeferreds(3)
	dl := deferred.List(ds, deferred.FireOnOneCallback)
	ds[0].Errback(errBang)
	stillWaiting(t, dl)
	ds[2].Callback("two")
	if got, want := firstResultOf(t, dl), (deferred.FirstResult{Value: "two", Index: 2}); got != want {
		t.Fatalf("result = %+v, want %+v", got, want)
	}
	ds[1].Callback("late")
	if got := firstResultOf(t, dl); got.Index != 2 {
		t.Fatalf("a later success changed the result to %+v", got)
	}
	if v := succeededWith(t, ds[1]); v != "late" {
		t.Fatalf("late member's result = %v, want it untouched", v)
	}
	failedWithErr(t, ds[0], errBang)
}

func TestListFireOnOneCallbackWithoutSuccessFiresWithOutcomes(t *testing.T) {
	ds := newDeferreds(2)
	dl := deferred.List(ds, deferred.FireOnOneCallback, deferred.ConsumeErrors)
	ds[0].Errback(errBang)
	ds[1].Errback(errLater)
	outs := outcomesOf(t, dl)
	if outs[0].OK || outs[1].OK || !errors.Is(outs[1].Failure, errLater) {
		t.Fatalf("outcomes = %+v", outs)
	}
}

func TestListConsumeErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []deferred.ListOption
		consume bool
	}{
		{"without it the member keeps its failure", nil, false},
		{"with it the member's failure is handled", []deferred.ListOption{deferred.ConsumeErrors}, true},
		{"combined with | it is handled", []deferred.ListOption{deferred.FireOnOneCallback | deferred.ConsumeErrors}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deferred.New()
			dl := deferred.List([]*deferred.Deferred{d}, tc.opts...)
			var trapped []*deferred.Failure
			d.AddErrback(func(f *deferred.Failure) (any, error) {
				trapped = append(trapped, f)
				return nil, nil
			})
			d.Errback(errBang)
			if got := len(trapped); (got == 0) != tc.consume {
				t.Fatalf("member's errback ran %d times, consume = %v", got, tc.consume)
			}
			if outs := outcomesOf(t, dl); !errors.Is(outs[0].Failure, errBang) {
				t.Fatalf("outcome = %+v, want the failure recorded", outs[0])
			}
		})
	}
	t.Run("it leaves the results of successes alone", func(t *testing.T) {
		d := deferred.New()
		deferred.List([]*deferred.Deferred{d}, deferred.ConsumeErrors)
		d.Callback("v")
		if v := succeededWith(t, d); v != "v" {
			t.Fatalf("member's result = %v, want v", v)
		}
	})
	t.Run("the member's result is nil afterwards", func(t *testing.T) {
		d := deferred.Fail(errBang)
		deferred.List([]*deferred.Deferred{d}, deferred.ConsumeErrors)
		if v := succeededWith(t, d); v != nil {
			t.Fatalf("member's result = %v, want nil", v)
		}
	})
}

func TestListOfDeferredsThatHaveFired(t *testing.T) {
	t.Run("fires while it is built", func(t *testing.T) {
		bad, good := deferred.Fail(errBang), deferred.Succeed(2)
		outs := outcomesOf(t, deferred.List([]*deferred.Deferred{bad, good}))
		if outs[0].OK || !outs[1].OK || outs[1].Value != 2 {
			t.Fatalf("outcomes = %+v", outs)
		}
		failedWithErr(t, bad, errBang)
	})
	t.Run("with FireOnOneErrback fails while it is built", func(t *testing.T) {
		bad, waiting := deferred.Fail(errBang), deferred.New()
		dl := deferred.List([]*deferred.Deferred{bad, waiting}, deferred.FireOnOneErrback)
		if fe := firstErrorOf(t, dl, errBang); fe.Index != 0 {
			t.Fatalf("FirstError = %+v", fe)
		}
		failedWithErr(t, bad, errBang)
	})
	t.Run("with FireOnOneCallback the first fired success wins", func(t *testing.T) {
		ds := []*deferred.Deferred{deferred.New(), deferred.Succeed("a"), deferred.Succeed("b")}
		if r := firstResultOf(t, deferred.List(ds, deferred.FireOnOneCallback)); r.Index != 1 || r.Value != "a" {
			t.Fatalf("result = %+v", r)
		}
	})
}

func TestListRecordsTheResultAtTheTimeOfTheCall(t *testing.T) {
	addTen := func(v any) (any, error) { return v.(string) + " ten", nil }
	t.Run("callback added before", func(t *testing.T) {
		d := deferred.New()
		d.AddCallback(addTen)
		dl := deferred.List([]*deferred.Deferred{d})
		d.Callback("one")
		if v := outcomesOf(t, dl)[0].Value; v != "one ten" {
			t.Fatalf("recorded %v, want one ten", v)
		}
	})
	t.Run("callback added after", func(t *testing.T) {
		d := deferred.New()
		dl := deferred.List([]*deferred.Deferred{d})
		d.AddCallback(addTen)
		d.Callback("one")
		if v := outcomesOf(t, dl)[0].Value; v != "one" {
			t.Fatalf("recorded %v, want one", v)
		}
		if v := succeededWith(t, d); v != "one ten" {
			t.Fatalf("member's result = %v, want one ten", v)
		}
	})
}

func TestCancelList(t *testing.T) {
	t.Run("cancels every member", func(t *testing.T) {
		ds := newDeferreds(2)
		dl := deferred.List(ds)
		dl.Cancel()
		for _, d := range ds {
			failedWithErr(t, d, deferred.ErrCancelled)
		}
		for i, o := range outcomesOf(t, dl) {
			if o.OK || !errors.Is(o.Failure, deferred.ErrCancelled) {
				t.Fatalf("outcome %d = %+v", i, o)
			}
		}
	})
	t.Run("records a canceller's value", func(t *testing.T) {
		one, two := deferred.NewWithCanceller(callbackCanceller), deferred.New()
		dl := deferred.List([]*deferred.Deferred{one, two})
		dl.Cancel()
		failedWithErr(t, two, deferred.ErrCancelled)
		outs := outcomesOf(t, dl)
		if !outs[0].OK || outs[0].Value != "Callback Result" || outs[1].OK || !errors.Is(outs[1].Failure, deferred.ErrCancelled) {
			t.Fatalf("outcomes = %+v", outs)
		}
	})
	t.Run("with FireOnOneCallback cancels every member", func(t *testing.T) {
		ds := newDeferreds(2)
		deferred.List(ds, deferred.FireOnOneCallback).Cancel()
		for _, d := range ds {
			failedWithErr(t, d, deferred.ErrCancelled)
		}
	})
	t.Run("with FireOnOneCallback fires with a canceller's value", func(t *testing.T) {
		one, two := deferred.NewWithCanceller(callbackCanceller), deferred.New()
		dl := deferred.List([]*deferred.Deferred{one, two}, deferred.FireOnOneCallback)
		dl.Cancel()
		failedWithErr(t, two, deferred.ErrCancelled)
		if got, want := firstResultOf(t, dl), (deferred.FirstResult{Value: "Callback Result"}); got != want {
			t.Fatalf("result = %+v, want %+v", got, want)
		}
	})
	t.Run("with FireOnOneErrback fails with the first cancellation", func(t *testing.T) {
		ds := newDeferreds(2)
		dl := deferred.List(ds, deferred.FireOnOneErrback)
		dl.Cancel()
		for _, d := range ds {
			failedWithErr(t, d, deferred.ErrCancelled)
		}
		if fe := firstErrorOf(t, dl, deferred.ErrCancelled); fe.Index != 0 {
			t.Fatalf("FirstError = %+v", fe)
		}
	})
	t.Run("with FireOnOneErrback fires with outcomes if all cancellers succeed", func(t *testing.T) {
		ds := []*deferred.Deferred{deferred.NewWithCanceller(callbackCanceller), deferred.NewWithCanceller(callbackCanceller)}
		dl := deferred.List(ds, deferred.FireOnOneErrback)
		dl.Cancel()
		for i, o := range outcomesOf(t, dl) {
			if !o.OK || o.Value != "Callback Result" {
				t.Fatalf("outcome %d = %+v", i, o)
			}
		}
	})
	t.Run("cancels the Deferreds it was given, not later additions", func(t *testing.T) {
		args := make([]*deferred.Deferred, 2, 3)
		args[0], args[1] = deferred.New(), deferred.New()
		dl := deferred.List(args)
		args = append(args, deferred.New())
		dl.Cancel()
		failedWithErr(t, args[0], deferred.ErrCancelled)
		failedWithErr(t, args[1], deferred.ErrCancelled)
		stillWaiting(t, args[2])
	})
	t.Run("logs a panicking canceller and cancels the others", func(t *testing.T) {
		logged := testlog.CaptureDefault(t)
		one := deferred.NewWithCanceller(func(*deferred.Deferred) { panic("canceller broke") })
		two := deferred.New()
		deferred.List([]*deferred.Deferred{one, two}).Cancel()
		failedWithErr(t, two, deferred.ErrCancelled)
		if out := logged.String(); !strings.Contains(out, "canceller broke") {
			t.Fatalf("log = %q, want the canceller's panic", out)
		}
	})
	t.Run("after FireOnOneCallback fired does nothing", func(t *testing.T) {
		ds := newDeferreds(2)
		dl := deferred.List(ds, deferred.FireOnOneCallback)
		ds[0].Callback(nil)
		dl.Cancel()
		stillWaiting(t, ds[1])
		firstResultOf(t, dl)
	})
	t.Run("after FireOnOneErrback fired does nothing", func(t *testing.T) {
		ds := newDeferreds(2)
		dl := deferred.List(ds, deferred.FireOnOneErrback)
		ds[0].Errback(errBang)
		dl.Cancel()
		stillWaiting(t, ds[1])
		failedWithErr(t, ds[0], errBang)
		firstErrorOf(t, dl, errBang)
	})
	t.Run("waits for a member that cannot be stopped", func(t *testing.T) {
		paused := deferred.Succeed("v")
		paused.Pause()
		dl := deferred.List([]*deferred.Deferred{paused})
		dl.Cancel()
		stillWaiting(t, dl)
		paused.Unpause()
		outs, ok := succeededWith(t, dl).([]deferred.Outcome)
		if !ok || len(outs) != 1 || outs[0] != (deferred.Outcome{OK: true, Value: "v"}) {
			t.Fatalf("List result = %#v", outs)
		}
	})
}

func TestDict(t *testing.T) {
	t.Run("fires with outcomes by name", func(t *testing.T) {
		a, b := deferred.New(), deferred.New()
		dd := deferred.Dict(map[string]*deferred.Deferred{"a": a, "b": b}, deferred.ConsumeErrors)
		b.Errback(errBang)
		stillWaiting(t, dd)
		a.Callback(1)
		got, ok := succeededWith(t, dd).(map[string]deferred.Outcome)
		if !ok || len(got) != 2 || got["a"] != (deferred.Outcome{OK: true, Value: 1}) || !errors.Is(got["b"].Failure, errBang) {
			t.Fatalf("result = %#v", got)
		}
	})
	t.Run("of none fires with an empty map", func(t *testing.T) {
		got, ok := succeededWith(t, deferred.Dict(nil)).(map[string]deferred.Outcome)
		if !ok || got == nil || len(got) != 0 {
			t.Fatalf("result = %#v", got)
		}
	})
	t.Run("FireOnOneErrback names the key", func(t *testing.T) {
		m := map[string]*deferred.Deferred{"x": deferred.New(), "y": deferred.New(), "z": deferred.New()}
		dd := deferred.Dict(m, deferred.FireOnOneErrback, deferred.ConsumeErrors)
		m["y"].Errback(errBang)
		fe := firstErrorOf(t, dd, errBang)
		if fe.Key != "y" || fe.Index != 1 || !strings.Contains(fe.Error(), `"y"`) {
			t.Fatalf("FirstError = %+v (%v)", fe, fe)
		}
	})
	t.Run("FireOnOneCallback names the key", func(t *testing.T) {
		m := map[string]*deferred.Deferred{"b": deferred.New(), "a": deferred.New()}
		dd := deferred.Dict(m, deferred.FireOnOneCallback)
		m["b"].Callback("v")
		if got, want := firstResultOf(t, dd), (deferred.FirstResult{Value: "v", Index: 1, Key: "b"}); got != want {
			t.Fatalf("result = %+v, want %+v", got, want)
		}
	})
	t.Run("cancelling it cancels every member", func(t *testing.T) {
		m := map[string]*deferred.Deferred{"a": deferred.New(), "b": deferred.New()}
		deferred.Dict(m, deferred.ConsumeErrors).Cancel()
		for k, d := range m {
			if _, err := d.Result(); !d.Called() || err != nil {
				t.Fatalf("member %s: called %v, err %v; want a consumed cancellation", k, d.Called(), err)
			}
		}
	})
}

func TestGather(t *testing.T) {
	t.Run("fires with the values in order", func(t *testing.T) {
		d1, d2 := deferred.New(), deferred.Succeed(2)
		g := deferred.Gather([]*deferred.Deferred{d1, d2})
		stillWaiting(t, g)
		d1.Callback(1)
		if got := succeededWith(t, g); !reflect.DeepEqual(got, []any{1, 2}) {
			t.Fatalf("result = %#v", got)
		}
	})
	t.Run("of none fires with an empty slice", func(t *testing.T) {
		if got := succeededWith(t, deferred.Gather(nil)); !reflect.DeepEqual(got, []any{}) {
			t.Fatalf("result = %#v", got)
		}
	})
	t.Run("fails with the first failure", func(t *testing.T) {
		bad := deferred.Fail(errBang)
		g := deferred.Gather([]*deferred.Deferred{deferred.Succeed(1), bad})
		if fe := firstErrorOf(t, g, errBang); fe.Index != 1 {
			t.Fatalf("FirstError = %+v", fe)
		}
		failedWithErr(t, bad, errBang) // not consumed
	})
	t.Run("ConsumeErrors handles the member's failure", func(t *testing.T) {
		bad := deferred.Fail(errBang)
		g := deferred.Gather([]*deferred.Deferred{deferred.Succeed(1), bad}, deferred.ConsumeErrors)
		firstErrorOf(t, g, errBang)
		if v := succeededWith(t, bad); v != nil {
			t.Fatalf("member's result = %v, want nil", v)
		}
	})
	t.Run("cancelling it cancels every member", func(t *testing.T) {
		ds := newDeferreds(2)
		g := deferred.Gather(ds)
		g.Cancel()
		for _, d := range ds {
			failedWithErr(t, d, deferred.ErrCancelled)
		}
		firstErrorOf(t, g, deferred.ErrCancelled)
	})
	t.Run("cancelled, fires with the values of cancellers that succeed", func(t *testing.T) {
		ds := []*deferred.Deferred{deferred.NewWithCanceller(callbackCanceller), deferred.NewWithCanceller(callbackCanceller)}
		g := deferred.Gather(ds)
		g.Cancel()
		if got := succeededWith(t, g); !reflect.DeepEqual(got, []any{"Callback Result", "Callback Result"}) {
			t.Fatalf("result = %#v", got)
		}
	})
	t.Run("panics with FireOnOneCallback", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("Gather with FireOnOneCallback did not panic")
			}
		}()
		deferred.Gather(nil, deferred.FireOnOneCallback)
	})
}

// raceMembers returns n Deferreds whose cancellers count their calls and do
// not fire them (Twisted's _setupRaceState).
func raceMembers(n int) ([]*deferred.Deferred, []int) {
	cancelled := make([]int, n)
	ds := make([]*deferred.Deferred, n)
	for i := range ds {
		ds[i] = deferred.NewWithCanceller(func(*deferred.Deferred) { cancelled[i]++ })
	}
	return ds, cancelled
}

func TestRaceFirstSuccessWinsAndCancelsTheOthers(t *testing.T) {
	for before := range 4 {
		for after := range 4 {
			t.Run(fmt.Sprintf("%d before %d after", before, after), func(t *testing.T) {
				ds, cancelled := raceMembers(before + 1 + after)
				r := deferred.Race(ds)
				want := new(int)
				ds[before].Callback(want)
				if got := firstResultOf(t, r); got != (deferred.FirstResult{Value: want, Index: before}) {
					t.Fatalf("result = %+v", got)
				}
				for i, n := range cancelled {
					wantN := 1
					if i == before {
						wantN = 0
					}
					if n != wantN {
						t.Fatalf("cancel counts = %v, want 1 each but the winner", cancelled)
					}
				}
				for i, d := range ds {
					if v, err := d.Result(); v != nil || err != nil {
						t.Fatalf("member %d holds (%v, %v), want its result handled", i, v, err)
					}
				}
			})
		}
	}
}

func TestRaceFailsWithEveryFailureWhenAllFail(t *testing.T) {
	ds, cancelled := raceMembers(3)
	r := deferred.Race(ds)
	errs := []error{errors.New("e0"), errors.New("e1"), errors.New("e2")}
	for _, i := range []int{2, 0, 1} {
		ds[i].Errback(errs[i])
	}
	f := failedWithErr(t, r, errs[0])
	var g *deferred.FailureGroup
	if !errors.As(f, &g) {
		t.Fatalf("failure %v is not a *FailureGroup", f)
	}
	for i, e := range errs {
		if g.Failures[i].Value() != e || !errors.Is(f, e) {
			t.Fatalf("failures = %v, want %v in order", g.Failures, errs)
		}
	}
	if msg := g.Error(); !strings.Contains(msg, "e0; e1; e2") {
		t.Fatalf("message %q lacks the failures", msg)
	}
	if !reflect.DeepEqual(cancelled, []int{0, 0, 0}) {
		t.Fatalf("cancel counts = %v, want none", cancelled)
	}
}

func TestRaceDropsResultsAfterCancel(t *testing.T) {
	logged := testlog.CaptureDefault(t)
	ds := newDeferreds(4)
	r := deferred.Race(ds)
	ds[1].Callback("win")
	ds[2].Callback("ignored") // dropped: cancelled without a canceller
	if got := firstResultOf(t, r); got.Index != 1 || got.Value != "win" {
		t.Fatalf("result = %+v", got)
	}
	for i, d := range ds {
		if v, err := d.Result(); v != nil || err != nil {
			t.Fatalf("member %d holds (%v, %v), want its result handled", i, v, err)
		}
	}
	if out := logged.String(); out != "" {
		t.Fatalf("logged %q", out)
	}
}

func TestRaceIgnoresASuccessFromACanceller(t *testing.T) {
	winner := deferred.New()
	r := deferred.Race([]*deferred.Deferred{winner, deferred.NewWithCanceller(callbackCanceller)})
	winner.Callback("first")
	if got := firstResultOf(t, r); got != (deferred.FirstResult{Value: "first"}) {
		t.Fatalf("result = %+v", got)
	}
}

func TestRaceWithAFiredWinnerFiresWhileItIsBuilt(t *testing.T) {
	ds, cancelled := raceMembers(2)
	ds = append(ds, deferred.Succeed("ready"))
	r := deferred.Race(ds)
	if got := firstResultOf(t, r); got.Index != 2 || got.Value != "ready" {
		t.Fatalf("result = %+v", got)
	}
	if !reflect.DeepEqual(cancelled, []int{1, 1}) {
		t.Fatalf("cancel counts = %v", cancelled)
	}
}

func TestCancelRaceCancelsEveryMember(t *testing.T) {
	for n := 1; n <= 3; n++ {
		t.Run(fmt.Sprintf("%d members", n), func(t *testing.T) {
			ds, cancelled := raceMembers(n)
			r := deferred.Race(ds)
			r.Cancel()
			for i, c := range cancelled {
				if c != 1 {
					t.Fatalf("member %d cancelled %d times", i, c)
				}
			}
			f := failedWithErr(t, r, deferred.ErrCancelled)
			var g *deferred.FailureGroup
			if !errors.As(f, &g) || len(g.Failures) != n {
				t.Fatalf("failure = %v, want a FailureGroup of %d", f, n)
			}
		})
	}
}

func TestRaceOfNoDeferredsNeverFires(t *testing.T) {
	stillWaiting(t, deferred.Race(nil))
}
