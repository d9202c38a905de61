package deferred_test

import (
	"errors"
	"testing"

	"github.com/twistgo/twist/deferred"
)

func TestMaybe(t *testing.T) {
	t.Run("a value fires the Deferred", func(t *testing.T) {
		want := new(int)
		d := deferred.Maybe(func() (any, error) { return want, nil })
		if got := succeededWith(t, d); got != want {
			t.Fatalf("result = %v, want %v", got, want)
		}
	})
	t.Run("an error fails the Deferred", func(t *testing.T) {
		d := deferred.Maybe(func() (any, error) { return "ignored", errBang })
		failedWithErr(t, d, errBang)
	})
	t.Run("a Failure value fails the Deferred with that Failure", func(t *testing.T) {
		want := deferred.NewFailure(errBang)
		d := deferred.Maybe(func() (any, error) { return want, nil })
		if got := failedWithErr(t, d, errBang); got != want {
			t.Fatalf("failure = %p, want the one returned (%p)", got, want)
		}
	})
	t.Run("a Deferred is returned as it is", func(t *testing.T) {
		inner := deferred.New()
		d := deferred.Maybe(func() (any, error) { return inner, nil })
		if d != inner {
			t.Fatalf("Maybe returned %v, want %v", d, inner)
		}
		inner.Callback("Success")
		if got := succeededWith(t, d); got != "Success" {
			t.Fatalf("result = %v", got)
		}
	})
	t.Run("a Deferred that fails later fails", func(t *testing.T) {
		inner := deferred.New()
		d := deferred.Maybe(func() (any, error) { return inner, nil })
		inner.Errback(errBang)
		failedWithErr(t, d, errBang)
	})
	t.Run("a panic fails the Deferred with a PanicError", func(t *testing.T) {
		d := deferred.Maybe(func() (any, error) { panic("boom") })
		f := failureOf(t, d)
		var pe *deferred.PanicError
		if !errors.As(f, &pe) || pe.Value != "boom" {
			t.Fatalf("failure = %v, want a PanicError of boom", f)
		}
	})
	t.Run("a panic with an error is seen through", func(t *testing.T) {
		d := deferred.Maybe(func() (any, error) { panic(errBang) })
		failedWithErr(t, d, errBang)
	})
}
