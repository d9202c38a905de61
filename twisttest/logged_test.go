package twisttest_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internal/testlog"
	"github.com/twistgo/twist/twisttest"
)

// endingTB records failures and cleanups, and runs the cleanups when told:
// it plays the end of a test inside a real one.
type endingTB struct {
	testing.TB
	errors, fatals []string
	cleanups       []func()
}

func (e *endingTB) Helper()          {}
func (e *endingTB) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }
func (e *endingTB) Errorf(format string, args ...any) {
	e.errors = append(e.errors, fmt.Sprintf(format, args...))
}
func (e *endingTB) Fatalf(format string, args ...any) {
	e.fatals = append(e.fatals, fmt.Sprintf(format, args...))
}

func (e *endingTB) end() {
	for _, f := range slices.Backward(e.cleanups) {
		f()
	}
}

var (
	errLogged = errors.New("twisttest logged error")
	errOther  = errors.New("twisttest other error")
)

// dropFailed makes a Deferred that fails with err and lets it go unhandled.
//
//go:noinline
func dropFailed(err error) { deferred.Fail(err) }

// A test that logged an error fails unless it flushed it (trial's
// behaviour), whether LogError logged it or the garbage collector found it
// unhandled in a dropped Deferred.
func TestCheckLoggedErrors(t *testing.T) {
	tests := []struct {
		name      string
		log       func()
		flush     []any
		flushed   int
		wantError bool
	}{
		{"nothing logged", func() {}, nil, 0, false},
		{"LogError, not flushed", func() { deferred.LogError(deferred.NewFailure(errLogged)) }, nil, -1, true},
		{"LogError, flushed", func() { deferred.LogError(deferred.NewFailure(errLogged)) }, []any{errLogged}, 1, false},
		{"LogError, flushed by another kind", func() { deferred.LogError(deferred.NewFailure(errLogged)) }, []any{errOther}, 0, true},
		{"unhandled, flushed", func() { dropFailed(errLogged) }, []any{errLogged}, 1, false},
		{"unhandled, not flushed", func() { dropFailed(errLogged) }, nil, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testlog.CaptureDefault(t)
			e := &endingTB{TB: t}
			twisttest.CheckLoggedErrors(e)
			tt.log()
			if tt.flushed >= 0 {
				got := twisttest.FlushLoggedErrors(e, tt.flush...)
				if len(got) != tt.flushed {
					t.Fatalf("flushed %d failures, want %d", len(got), tt.flushed)
				}
			}
			e.end()
			if failed := len(e.errors) > 0; failed != tt.wantError {
				t.Fatalf("test failed: %v, want %v (%q)", failed, tt.wantError, e.errors)
			}
			if tt.wantError && !strings.Contains(e.errors[0], errLogged.Error()) {
				t.Fatalf("the failure does not show the error: %q", e.errors[0])
			}
		})
	}
}

func TestFlushLoggedErrorsWithoutCheck(t *testing.T) {
	e := &endingTB{TB: t}
	twisttest.FlushLoggedErrors(e)
	if len(e.fatals) != 1 {
		t.Fatalf("fatals %q", e.fatals)
	}
}

// AssertFailure turns the expected failure into a success with its error,
// and anything else into a failure wrapping ErrAssertion.
func TestAssertFailure(t *testing.T) {
	got := twisttest.SuccessResultOf(t, twisttest.AssertFailure(deferred.Fail(errLogged), errOther, errLogged))
	if got != errLogged {
		t.Fatalf("result %v, want the error", got)
	}
	if got := twisttest.SuccessResultOf(t, twisttest.AssertFailure(deferred.Fail(errOther))); got != errOther {
		t.Fatalf("with no targets: result %v, want the error", got)
	}
	for name, d := range map[string]*deferred.Deferred{
		"success":      deferred.Succeed(7),
		"another kind": deferred.Fail(errOther),
	} {
		f := twisttest.FailureResultOf(t, twisttest.AssertFailure(d, errLogged), twisttest.ErrAssertion)
		if !strings.Contains(f.Error(), `"twisttest logged error"`) {
			t.Errorf("%s: message does not name what was expected: %v", name, f)
		}
	}
}
