package deferred_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twistgo/twist/deferred"
)

func ExampleSetDebugging() {
	deferred.SetDebugging(true)
	defer deferred.SetDebugging(false)

	d := deferred.New()
	d.Callback("first")
	defer func() {
		e := recover().(*deferred.AlreadyCalledError)
		fmt.Println(errors.Is(e, deferred.ErrAlreadyCalled))
		fmt.Println(strings.Contains(e.FirstInvoker, "ExampleSetDebugging"))
	}()
	d.Callback("second")
	// Output:
	// true
	// true
}

func ExampleLogError() {
	d := deferred.Fail(errors.New("disk full"))
	// LogError logs the failure through log/slog and passes it on.
	d.AddErrback(deferred.LogError)
	d.AddErrback(func(f *deferred.Failure) (any, error) {
		fmt.Println("handled:", f.ErrorMessage())
		return nil, nil
	})
	// Output:
	// handled: disk full
}
