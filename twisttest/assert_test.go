package twisttest

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// recordingTB is a testing.TB whose Fatalf records the message instead of
// ending the test, to test assertions that fail.
type recordingTB struct {
	testing.TB
	fatals []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

// expectFatal checks that tb recorded one failure mentioning every part of want.
func expectFatal(t *testing.T, tb *recordingTB, want ...string) {
	t.Helper()
	if len(tb.fatals) != 1 {
		t.Fatalf("Fatalf called %d times (%q), want once", len(tb.fatals), tb.fatals)
	}
	for _, w := range want {
		if !strings.Contains(tb.fatals[0], w) {
			t.Errorf("failure message %q does not mention %q", tb.fatals[0], w)
		}
	}
}

// expectNoFatal checks that tb recorded no failure.
func expectNoFatal(t *testing.T, tb *recordingTB) {
	t.Helper()
	if len(tb.fatals) != 0 {
		t.Fatalf("unexpected failures: %q", tb.fatals)
	}
}

// expectConsumed checks that d's result was taken: nil, with no failure left.
func expectConsumed(t *testing.T, d *deferred.Deferred) {
	t.Helper()
	if v, err := d.Result(); v != nil || err != nil {
		t.Fatalf("result after the assertion = %v, %v; want it consumed", v, err)
	}
}

var errBoom = errors.New("boom")

// waiting returns a Deferred whose chain waits on a Deferred that has not fired.
func waiting() *deferred.Deferred {
	inner := deferred.New()
	return deferred.Succeed(1).AddCallback(func(any) (any, error) { return inner, nil })
}

func paused() *deferred.Deferred {
	d := deferred.New()
	d.Pause()
	d.Callback(1)
	return d
}

func TestSuccessResultOfReturnsAndConsumesTheResult(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.Succeed("hello")
	if got := SuccessResultOf(tb, d); got != "hello" {
		t.Fatalf("SuccessResultOf = %v", got)
	}
	expectNoFatal(t, tb)
	expectConsumed(t, d)
}

func TestSuccessResultOfWithoutResultFails(t *testing.T) {
	for name, d := range map[string]*deferred.Deferred{"unfired": deferred.New(), "paused": paused(), "waiting": waiting()} {
		t.Run(name, func(t *testing.T) {
			tb := &recordingTB{}
			if got := SuccessResultOf(tb, d); got != nil {
				t.Errorf("SuccessResultOf = %v, want nil", got)
			}
			expectFatal(t, tb, "Success result expected on <Deferred", "found no result instead")
		})
	}
}

func TestSuccessResultOfFailureFailsAndHandlesIt(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.Fail(errBoom)
	SuccessResultOf(tb, d)
	expectFatal(t, tb, "found failure result instead", "boom", "assert_test.go")
	expectConsumed(t, d)
}

func TestSuccessResultAs(t *testing.T) {
	tb := &recordingTB{}
	if got := SuccessResultAs[string](tb, deferred.Succeed("typed")); got != "typed" {
		t.Errorf("SuccessResultAs[string] = %q", got)
	}
	if got := SuccessResultAs[*int](tb, deferred.Succeed(nil)); got != nil {
		t.Errorf("SuccessResultAs[*int] of nil = %v", got)
	}
	if got := SuccessResultAs[error](tb, deferred.Succeed(nil)); got != nil {
		t.Errorf("SuccessResultAs[error] of nil = %v", got)
	}
	expectNoFatal(t, tb)
}

func TestSuccessResultAsWrongTypeFails(t *testing.T) {
	for name, d := range map[string]*deferred.Deferred{"int": deferred.Succeed(42), "nil": deferred.Succeed(nil)} {
		t.Run(name, func(t *testing.T) {
			tb := &recordingTB{}
			if got := SuccessResultAs[string](tb, d); got != "" {
				t.Errorf("SuccessResultAs = %q, want the zero value", got)
			}
			expectFatal(t, tb, "Success result of type string expected")
		})
	}
}

func TestSuccessResultAsReportsOnlyTheFirstProblem(t *testing.T) {
	tb := &recordingTB{}
	SuccessResultAs[string](tb, deferred.Fail(errBoom))
	expectFatal(t, tb, "found failure result instead")
}

func TestFailureResultOfReturnsAndHandlesTheFailure(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.Fail(errBoom)
	f := FailureResultOf(tb, d)
	expectNoFatal(t, tb)
	if f == nil || !errors.Is(f, errBoom) {
		t.Fatalf("FailureResultOf = %v", f)
	}
	expectConsumed(t, d)
}

func TestFailureResultOfMatchingTargets(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	var asTarget *fs.PathError
	for _, tc := range []struct {
		name    string
		err     error
		targets []any
	}{
		{"sentinel", errBoom, []any{errBoom}},
		{"second of two", errBoom, []any{deferred.ErrCancelled, errBoom}},
		{"wrapped sentinel", fmt.Errorf("context: %w", errBoom), []any{errBoom}},
		{"errors.As target", pathErr, []any{&asTarget}},
		{"errors.Is through a wrapper", pathErr, []any{fs.ErrNotExist}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := &recordingTB{}
			if f := FailureResultOf(tb, deferred.Fail(tc.err), tc.targets...); f == nil {
				t.Fatal("FailureResultOf = nil")
			}
			expectNoFatal(t, tb)
		})
	}
	if asTarget != pathErr {
		t.Errorf("errors.As target = %v, want it filled in", asTarget)
	}
}

func TestFailureResultOfUnexpectedTypeFails(t *testing.T) {
	tb := &recordingTB{}
	var pe *fs.PathError
	d := deferred.Fail(errBoom)
	if f := FailureResultOf(tb, d, deferred.ErrCancelled, &pe); f != nil {
		t.Errorf("FailureResultOf = %v, want nil", f)
	}
	expectFatal(t, tb, `Failure matching ("deferred: cancelled" or *fs.PathError) expected`,
		"found *errors.errorString instead", "boom")
	expectConsumed(t, d)
}

func TestFailureResultOfSuccessFails(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.Succeed(42)
	FailureResultOf(tb, d)
	expectFatal(t, tb, "Failure result expected on", "found success result (42) instead")
	expectConsumed(t, d)
}

func TestFailureResultOfWithoutResultFails(t *testing.T) {
	for name, d := range map[string]*deferred.Deferred{"unfired": deferred.New(), "paused": paused(), "waiting": waiting()} {
		t.Run(name, func(t *testing.T) {
			tb := &recordingTB{}
			FailureResultOf(tb, d)
			expectFatal(t, tb, "Failure result expected on", "found no result instead")
		})
	}
}

func TestAssertNoResultLeavesAPendingDeferredAlone(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.New()
	AssertNoResult(tb, d)
	expectNoFatal(t, tb)
	var seen any
	d.AddCallback(func(v any) (any, error) { seen = v; return v, nil })
	d.Callback(5)
	if seen != 5 {
		t.Fatalf("callback after AssertNoResult saw %v, want 5", seen)
	}
	if v, _ := d.Result(); v != 5 {
		t.Fatalf("result %v, want 5", v)
	}
}

func TestAssertNoResultLeavesAPendingFailureToTheChain(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.New()
	AssertNoResult(tb, d)
	d.Errback(errBoom)
	if _, err := d.Result(); !errors.Is(err, errBoom) {
		t.Fatalf("result error %v, want the failure untouched", err)
	}
	FailureResultOf(tb, d, errBoom)
	expectNoFatal(t, tb)
}

func TestAssertNoResultOnWaitingAndPausedDeferreds(t *testing.T) {
	for name, d := range map[string]*deferred.Deferred{"paused": paused(), "waiting": waiting()} {
		t.Run(name, func(t *testing.T) {
			tb := &recordingTB{}
			AssertNoResult(tb, d)
			expectNoFatal(t, tb)
		})
	}
}

func TestAssertNoResultWithSuccessFails(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.Succeed("done")
	AssertNoResult(tb, d)
	expectFatal(t, tb, "No result expected on", `found "done" instead`)
	if v, _ := d.Result(); v != "done" {
		t.Fatalf("result %v, want the success result kept", v)
	}
}

func TestAssertNoResultWithFailureFailsAndHandlesIt(t *testing.T) {
	tb := &recordingTB{}
	d := deferred.Fail(errBoom)
	AssertNoResult(tb, d)
	expectFatal(t, tb, "No result expected on", "found failure instead", "boom")
	expectConsumed(t, d)
}

func TestAssertionsPassWithARealT(t *testing.T) {
	AssertNoResult(t, deferred.New())
	if SuccessResultOf(t, deferred.Succeed(1)) != 1 {
		t.Fatal("SuccessResultOf")
	}
	if SuccessResultAs[int](t, deferred.Succeed(2)) != 2 {
		t.Fatal("SuccessResultAs")
	}
	if f := FailureResultOf(t, deferred.Fail(errBoom), errBoom); f.Value() != errBoom {
		t.Fatal("FailureResultOf")
	}
}
