package deferred_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

var errNotFound = errors.New("not found")

// codeError is an error type for errors.As targets.
type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestFailureTrap(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		targets []any
		match   bool
	}{
		{"matches the same sentinel", errNotFound, []any{errNotFound}, true},
		{"matches one of several targets", errNotFound, []any{deferred.ErrCancelled, errNotFound}, true},
		{"matches a wrapped sentinel", fmt.Errorf("lookup: %w", errNotFound), []any{errNotFound}, true},
		{"does not match another sentinel", errNotFound, []any{deferred.ErrCancelled, errOopsie}, false},
		{"matches an error type through a pointer target", &codeError{7}, []any{new(*codeError)}, true},
		{"matches a wrapped error type", fmt.Errorf("op: %w", &codeError{7}), []any{new(*codeError)}, true},
		{"does not match another error type", errNotFound, []any{new(*codeError)}, false},
		{"matches an interface target", &fs.PathError{Op: "open", Err: fs.ErrNotExist}, []any{new(interface{ Timeout() bool })}, true},
		{"does not match with no targets", errNotFound, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := deferred.NewFailure(tt.err)
			err := f.Trap(tt.targets...)
			if tt.match && err != nil {
				t.Fatalf("Trap returned %v, want nil", err)
			}
			if !tt.match && err != f {
				t.Fatalf("Trap returned %v, want the failure itself", err)
			}
		})
	}
	t.Run("fills an errors.As target", func(t *testing.T) {
		var ce *codeError
		if err := deferred.NewFailure(&codeError{42}).Trap(&ce); err != nil || ce == nil || ce.code != 42 {
			t.Fatalf("Trap = %v, target %v", err, ce)
		}
	})
	t.Run("re-raises in an errback so the next errback gets the same failure", func(t *testing.T) {
		d := deferred.Fail(errOopsie)
		var first *deferred.Failure
		d.AddErrback(func(f *deferred.Failure) (any, error) {
			first = f
			if err := f.Trap(errNotFound); err != nil {
				return nil, err
			}
			return "handled", nil
		})
		if got := coreFailure(t, d); got != first {
			t.Fatalf("next errback got %p, want %p", got, first)
		}
	})
	t.Run("handles a matching failure in an errback", func(t *testing.T) {
		d := deferred.Fail(errNotFound)
		d.AddErrback(func(f *deferred.Failure) (any, error) {
			if err := f.Trap(errNotFound); err != nil {
				return nil, err
			}
			return "default", nil
		})
		if got := coreResult(t, d); got != "default" {
			t.Fatalf("result %v", got)
		}
	})
}

func TestFailureCheck(t *testing.T) {
	t.Run("returns the matching target", func(t *testing.T) {
		f := deferred.NewFailure(errNotFound)
		if got := f.Check(errOopsie, errNotFound); got != errNotFound {
			t.Fatalf("Check = %v", got)
		}
	})
	t.Run("returns the first matching target", func(t *testing.T) {
		f := deferred.NewFailure(fmt.Errorf("%w: %w", errNotFound, errOopsie))
		if got := f.Check(errOopsie, errNotFound); got != errOopsie {
			t.Fatalf("Check = %v, want the first match", got)
		}
	})
	t.Run("returns nil when nothing matches", func(t *testing.T) {
		if got := deferred.NewFailure(errNotFound).Check(errOopsie); got != nil {
			t.Fatalf("Check = %v", got)
		}
	})
	t.Run("returns the pointer target it filled", func(t *testing.T) {
		var ce *codeError
		f := deferred.NewFailure(&codeError{1})
		if got := f.Check(errOopsie, &ce); got != &ce || ce.code != 1 {
			t.Fatalf("Check = %v, target %v", got, ce)
		}
	})
}

func TestFailure(t *testing.T) {
	t.Run("ErrorMessage is the error's message", func(t *testing.T) {
		if got := deferred.NewFailure(errors.New("some text")).ErrorMessage(); got != "some text" {
			t.Fatalf("ErrorMessage = %q", got)
		}
	})
	t.Run("Error is the error's message", func(t *testing.T) {
		if got := deferred.NewFailure(errOopsie).Error(); got != "oopsie" {
			t.Fatalf("Error = %q", got)
		}
	})
	t.Run("Value and Unwrap return the wrapped error", func(t *testing.T) {
		f := deferred.NewFailure(errOopsie)
		if f.Value() != errOopsie || f.Unwrap() != errOopsie || !errors.Is(f, errOopsie) {
			t.Fatal("the wrapped error is not returned")
		}
	})
	t.Run("NewFailure of a *Failure returns it unchanged", func(t *testing.T) {
		f := deferred.NewFailure(errOopsie)
		if deferred.NewFailure(f) != f {
			t.Fatal("NewFailure wrapped a Failure again")
		}
	})
	t.Run("NewFailure of nil panics", func(t *testing.T) {
		if recoverFrom(func() { deferred.NewFailure(nil) }) == nil {
			t.Fatal("no panic")
		}
	})
	t.Run("NewFailure records its caller as the first frame", func(t *testing.T) {
		if fn := deferred.NewFailure(errOopsie).Frames()[0].Function; !strings.Contains(fn, "TestFailure") {
			t.Fatalf("first frame %q", fn)
		}
	})
	t.Run("Errback records its caller as the first frame", func(t *testing.T) {
		d := deferred.New()
		errbackHere(d)
		if fn := coreFailure(t, d).Frames()[0].Function; !strings.HasSuffix(fn, ".errbackHere") {
			t.Fatalf("first frame %q, want errbackHere", fn)
		}
	})
	t.Run("Fail records its caller as the first frame", func(t *testing.T) {
		if fn := coreFailure(t, deferred.Fail(errOopsie)).Frames()[0].Function; !strings.Contains(fn, "TestFailure") {
			t.Fatalf("first frame %q", fn)
		}
	})
	t.Run("Traceback starts with the type and message, then the frames", func(t *testing.T) {
		tb := deferred.NewFailure(&codeError{3}).Traceback()
		lines := strings.Split(tb, "\n")
		if lines[0] != "*deferred_test.codeError: code 3" {
			t.Fatalf("first line %q", lines[0])
		}
		if !strings.Contains(lines[1], "TestFailure") || !strings.Contains(lines[2], "failure_test.go:") {
			t.Fatalf("traceback does not start at the caller:\n%s", tb)
		}
	})
	t.Run("%v prints the message and %+v the traceback", func(t *testing.T) {
		f := deferred.NewFailure(errOopsie)
		if got := fmt.Sprintf("%v|%s", f, f); got != "oopsie|oopsie" {
			t.Fatalf("%%v|%%s = %q", got)
		}
		if got := fmt.Sprintf("%+v", f); got != f.Traceback() {
			t.Fatalf("%%+v = %q", got)
		}
	})
	t.Run("PanicError prints the panic value and unwraps only errors", func(t *testing.T) {
		pe := &deferred.PanicError{Value: 42}
		if pe.Error() != "panic: 42" || pe.Unwrap() != nil {
			t.Fatalf("Error %q, Unwrap %v", pe.Error(), pe.Unwrap())
		}
		if (&deferred.PanicError{Value: errOopsie}).Unwrap() != errOopsie {
			t.Fatal("PanicError does not unwrap its error")
		}
	})
	t.Run("TimeoutError matches ErrTimeout and nothing else", func(t *testing.T) {
		err := error(&deferred.TimeoutError{})
		if !errors.Is(err, deferred.ErrTimeout) || errors.Is(err, deferred.ErrCancelled) {
			t.Fatal("TimeoutError matched wrongly")
		}
	})
}

func errbackHere(d *deferred.Deferred) { d.Errback(errOopsie) }
