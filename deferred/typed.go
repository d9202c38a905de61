package deferred

import (
	"errors"
	"fmt"
	"reflect"
)

// The typed face: generic functions over the untyped core, so that code that
// knows the type of a Deferred's result never writes a type assertion.
//
// A result converts to T when it holds a T (or a type that implements T, if T
// is an interface). A nil result converts to T's zero value only if that zero
// value is nil itself, that is when T is an interface, pointer, slice, map,
// channel or function type: a nil where an int or a struct was expected is a
// bug (a callback that lost the value), and a zero would hide it. Anything
// else is a *TypeError.

// ErrNotFired is the error of Value for a Deferred that has no result yet:
// it has not fired, or its chain waits on another Deferred or is paused.
var ErrNotFired = errors.New("deferred: no result yet")

// A TypeError reports a result that is not of the type the typed face was
// asked for.
type TypeError struct {
	// Want is the type asked for.
	Want reflect.Type
	// Got is the result's type, nil for a nil result.
	Got reflect.Type
}

func (e *TypeError) Error() string {
	got := "nil"
	if e.Got != nil {
		got = e.Got.String()
	}
	return fmt.Sprintf("deferred: result is %s, want %s", got, e.Want)
}

// asType converts a result to T following the rules above.
func asType[T any](v any) (T, error) {
	if t, ok := v.(T); ok {
		return t, nil
	}
	var zero T
	want := reflect.TypeFor[T]()
	if v == nil {
		switch want.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Slice, reflect.Map,
			reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return zero, nil
		}
	}
	return zero, &TypeError{Want: want, Got: reflect.TypeOf(v)}
}

// Then adds f as a callback that receives the result as a T and returns d.
// A result that does not convert to T fails the chain with a *TypeError
// instead of calling f. As with any callback, f's error switches to the
// errback path, and a *Deferred as f's value makes the chain wait on it.
//
//	deferred.Then(d, func(body []byte) (int, error) {
//		return len(body), nil
//	})
func Then[T, U any](d *Deferred, f func(T) (U, error)) *Deferred {
	return d.AddCallback(func(v any) (any, error) {
		t, err := asType[T](v)
		if err != nil {
			return nil, err
		}
		return f(t)
	})
}

// Catch adds f as an errback for failures whose error matches E (as
// errors.As finds it) and returns d. f receives the matching error; its value
// resumes the callback path and its error stays on the errback path. Failures
// that do not match pass on untouched.
//
//	deferred.Catch(d, func(err *deferred.TimeoutError) (string, error) {
//		return "too slow, using the cache", nil
//	})
func Catch[E error, T any](d *Deferred, f func(E) (T, error)) *Deferred {
	return d.AddErrback(func(fl *Failure) (any, error) {
		var e E
		if !errors.As(fl, &e) {
			return nil, fl
		}
		return f(e)
	})
}

// Await is c.Await(d) with the result converted to T: it returns d's value as
// a T, or the zero T and d's *Failure, or the zero T and a *TypeError if the
// value does not convert.
//
//	n, err := deferred.Await[int](c, countUsers())
func Await[T any](c *Co, d *Deferred) (T, error) {
	v, err := c.Await(d)
	if err != nil {
		var zero T
		return zero, err
	}
	return asType[T](v)
}

// Value returns the result of a Deferred that has fired, as a T: its value,
// or the zero T and its *Failure, or the zero T and a *TypeError. It returns
// ErrNotFired if d has no result yet. Value leaves the result in place, but a
// failure it returns counts as handled, since the caller now has it.
//
//	n, err := deferred.Value[int](deferred.Succeed(3)) // 3, nil
func Value[T any](d *Deferred) (T, error) {
	var zero T
	if !settled(d) {
		return zero, ErrNotFired
	}
	if f, ok := d.result.(*Failure); ok {
		d.markHandled()
		return zero, f
	}
	return asType[T](d.result)
}
