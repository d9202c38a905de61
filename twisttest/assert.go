package twisttest

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// currentResult takes d's result as it stands now, if it has one, leaving nil
// in its place: a failure taken this way is handled. A Deferred that has not
// fired, is paused, or waits on another Deferred has no result yet; the
// callback added to find out then consumes the result when it comes, as in
// trial.
func currentResult(d *deferred.Deferred) (result any, ok bool) {
	d.AddBoth(func(r any) (any, error) {
		result, ok = r, true
		return nil, nil
	})
	return result, ok
}

// SuccessResultOf returns the result of d, which must have fired with a
// success and reached the end of its chain, or fails the test with t.Fatalf
// (trial's successResultOf). The result is consumed: d's result is nil
// afterwards, and a failure found instead is handled, reported only through
// the test failure.
func SuccessResultOf(t testing.TB, d *deferred.Deferred) any {
	t.Helper()
	r, _ := successResult(t, d)
	return r
}

// SuccessResultAs is SuccessResultOf for a result that must be a T. A nil
// result counts as the zero T when T is a type that can be nil.
func SuccessResultAs[T any](t testing.TB, d *deferred.Deferred) T {
	t.Helper()
	var zero T
	desc := d.String()
	r, ok := successResult(t, d)
	if !ok {
		return zero
	}
	if v, isT := r.(T); isT {
		return v
	}
	if r == nil && nilable(reflect.TypeFor[T]()) {
		return zero
	}
	t.Fatalf("Success result of type %v expected on %s, found %T (%#v) instead", reflect.TypeFor[T](), desc, r, r)
	return zero
}

// successResult is SuccessResultOf, reporting whether it succeeded.
func successResult(t testing.TB, d *deferred.Deferred) (any, bool) {
	t.Helper()
	desc := d.String()
	r, ok := currentResult(d)
	if !ok {
		t.Fatalf("Success result expected on %s, found no result instead", desc)
		return nil, false
	}
	if f, failed := r.(*deferred.Failure); failed {
		t.Fatalf("Success result expected on %s, found failure result instead:\n%+v", desc, f)
		return nil, false
	}
	return r, true
}

func nilable(typ reflect.Type) bool {
	switch typ.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return true
	}
	return false
}

// FailureResultOf returns the failure d has fired with and ended its chain on,
// or fails the test with t.Fatalf (trial's failureResultOf). If targets are
// given, the failure must match one of them as for Failure.Check: an error
// target is matched with errors.Is, a pointer target with errors.As. The
// failure is consumed: it is handled, and d's result is nil afterwards.
func FailureResultOf(t testing.TB, d *deferred.Deferred, targets ...any) *deferred.Failure {
	t.Helper()
	desc := d.String()
	r, ok := currentResult(d)
	if !ok {
		t.Fatalf("Failure result expected on %s, found no result instead", desc)
		return nil
	}
	f, failed := r.(*deferred.Failure)
	if !failed {
		t.Fatalf("Failure result expected on %s, found success result (%#v) instead", desc, r)
		return nil
	}
	if len(targets) > 0 && f.Check(targets...) == nil {
		t.Fatalf("Failure matching (%s) expected on %s, found %T instead: %+v",
			describeTargets(targets), desc, f.Value(), f)
		return nil
	}
	return f
}

// describeTargets names what FailureResultOf or AssertFailure looked for: an error by its
// quoted message, an errors.As target by the type it points to.
func describeTargets(targets []any) string {
	names := make([]string, len(targets))
	for i, target := range targets {
		if err, ok := target.(error); ok {
			names[i] = strconv.Quote(err.Error())
		} else if typ := reflect.TypeOf(target); typ != nil && typ.Kind() == reflect.Pointer {
			names[i] = typ.Elem().String()
		} else {
			names[i] = fmt.Sprintf("%T", target)
		}
	}
	return strings.Join(names, " or ")
}

// AssertNoResult fails the test with t.Fatalf if d has a result now (trial's
// assertNoResult). A Deferred without a result is left as it was, so that it
// behaves the same when it fires later; a failure result found is handled,
// since the test failure reports it.
func AssertNoResult(t testing.TB, d *deferred.Deferred) {
	t.Helper()
	desc := d.String()
	var (
		result any
		got    bool
	)
	d.AddBoth(func(r any) (any, error) {
		result, got = r, true
		return r, nil
	})
	if !got {
		return
	}
	if f, failed := result.(*deferred.Failure); failed {
		d.AddErrback(func(*deferred.Failure) (any, error) { return nil, nil })
		t.Fatalf("No result expected on %s, found failure instead:\n%+v", desc, f)
		return
	}
	t.Fatalf("No result expected on %s, found %#v instead", desc, result)
}

// ErrAssertion is wrapped by the errors AssertFailure fails a chain with
// (trial's FailTest).
var ErrAssertion = errors.New("twisttest: assertion failed")

// AssertFailure adds a step to d that expects a failure matching one of
// targets, as FailureResultOf matches them (any failure if there are none),
// and returns d (trial's assertFailure): such a failure becomes a success
// whose result is the failure's error. A success, or a failure of another
// kind, fails the chain with an error wrapping ErrAssertion that says what
// was found instead. Return the Deferred from the function given to Run,
// which fails the test on it.
func AssertFailure(d *deferred.Deferred, targets ...any) *deferred.Deferred {
	return d.AddCallbacks(func(r any) (any, error) {
		return nil, fmt.Errorf("%w: failure matching (%s) expected, found success result (%#v) instead",
			ErrAssertion, describeTargets(targets), r)
	}, func(f *deferred.Failure) (any, error) {
		if len(targets) > 0 && f.Check(targets...) == nil {
			return nil, fmt.Errorf("%w: failure matching (%s) expected, found %T instead: %+v",
				ErrAssertion, describeTargets(targets), f.Value(), f)
		}
		return f.Value(), nil
	})
}
