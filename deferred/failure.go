package deferred

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// maxStack bounds the frames a Failure records: enough to find the origin,
// cheap enough for an error path.
const maxStack = 32

// A Failure is an error together with the stack where it entered a Deferred:
// where Errback or NewFailure was called, where a callback returned it, or
// where a callback panicked. It is Twisted's twisted.python.failure.Failure.
//
// A Failure wraps its error: errors.Is and errors.As see through it.
type Failure struct {
	err error
	pcs []uintptr
}

// NewFailure wraps err in a Failure that records the caller's stack. If err is
// already a *Failure it is returned unchanged, keeping its original stack.
// NewFailure panics if err is nil.
func NewFailure(err error) *Failure {
	return newFailure(err, 3)
}

// newFailure records the stack above skip frames (runtime.Callers counting).
func newFailure(err error, skip int) *Failure {
	if err == nil {
		panic("deferred: Failure of a nil error")
	}
	if f, ok := err.(*Failure); ok {
		return f
	}
	var buf [maxStack]uintptr
	n := runtime.Callers(skip, buf[:])
	return &Failure{err: err, pcs: append([]uintptr(nil), buf[:n]...)}
}

// failureFrom wraps an error returned by fn, naming fn as the first frame so
// that the stack shows which callback produced the error.
func failureFrom(err error, fn any) *Failure {
	if f, ok := err.(*Failure); ok {
		return f
	}
	f := newFailure(err, 4)
	if pc := funcPC(fn); pc != 0 {
		f.pcs = append([]uintptr{pc + 1}, f.pcs...)
	}
	return f
}

// PanicError is the error of a Failure made from a panic in a callback. If
// the panic's value was an error, PanicError wraps it.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic's value if it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// panicFailure turns a recovered panic into a Failure. Called from the
// deferred function that recovered it, it records the panicking stack.
func panicFailure(v any) *Failure {
	if f, ok := v.(*Failure); ok {
		return f
	}
	f := newFailure(&PanicError{Value: v}, 4)
	f.pcs = dropRuntimeFrames(f.pcs)
	return f
}

// dropRuntimeFrames removes the runtime's panic machinery (gopanic, and
// sigpanic and its helpers for a fault) from the top of a panicking stack, so
// that the first frame is the panic site.
func dropRuntimeFrames(pcs []uintptr) []uintptr {
	for i, pc := range pcs {
		if fn := runtime.FuncForPC(pc - 1); fn == nil || !strings.HasPrefix(fn.Name(), "runtime.") {
			return pcs[i:]
		}
	}
	return pcs
}

// Error returns the message of the wrapped error.
func (f *Failure) Error() string { return f.err.Error() }

// Unwrap returns the wrapped error.
func (f *Failure) Unwrap() error { return f.err }

// Value returns the wrapped error (Twisted's Failure.value).
func (f *Failure) Value() error { return f.err }

// ErrorMessage returns the wrapped error's message (Twisted's getErrorMessage).
func (f *Failure) ErrorMessage() string { return f.err.Error() }

// Check reports which of targets the failure matches, or nil if none does.
// A target that is an error is matched with errors.Is; any other target must
// be a non-nil pointer, as for errors.As, which Check then fills in:
//
//	var pe *fs.PathError
//	switch f.Check(ErrCancelled, &pe) { ... }
func (f *Failure) Check(targets ...any) any {
	for _, t := range targets {
		if match(f.err, t) {
			return t
		}
	}
	return nil
}

// Trap returns nil if the failure matches one of targets (as for Check), and
// otherwise the failure itself, so that an errback re-raises what it does not
// handle:
//
//	d.AddErrback(func(f *deferred.Failure) (any, error) {
//		if err := f.Trap(ErrNotFound); err != nil {
//			return nil, err
//		}
//		return "default", nil
//	})
func (f *Failure) Trap(targets ...any) error {
	if f.Check(targets...) != nil {
		return nil
	}
	return f
}

func match(err error, target any) bool {
	if t, ok := target.(error); ok {
		return errors.Is(err, t)
	}
	return errors.As(err, target)
}

// Frames returns the recorded stack, innermost first.
func (f *Failure) Frames() []runtime.Frame {
	if len(f.pcs) == 0 {
		return nil
	}
	frames := runtime.CallersFrames(f.pcs)
	var out []runtime.Frame
	for {
		fr, more := frames.Next()
		out = append(out, fr)
		if !more {
			return out
		}
	}
}

// Traceback returns the error's type and message followed by the recorded
// stack, innermost first (Twisted's getTraceback).
func (f *Failure) Traceback() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%T: %v\n", f.err, f.err)
	for _, fr := range f.Frames() {
		if fr.Function == "" {
			continue
		}
		fmt.Fprintf(&b, "\t%s\n\t\t%s:%d\n", fr.Function, fr.File, fr.Line)
	}
	return b.String()
}

// Format implements fmt.Formatter: %v and %s print the message, %+v the
// traceback.
func (f *Failure) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		io.WriteString(s, f.Traceback())
		return
	}
	io.WriteString(s, f.err.Error())
}
