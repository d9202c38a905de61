package twisttest_test

import (
	"errors"
	"fmt"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

// AssertFailure is used as trial's assertFailure: in a test, the Deferred
// it returns is returned to Run, which fails the test if the assertion
// failed.
func ExampleAssertFailure() {
	refused := deferred.Fail(fmt.Errorf("dialing: %w", internet.ErrConnectionRefused))
	twisttest.AssertFailure(refused, internet.ErrConnectionRefused).AddCallback(func(err any) (any, error) {
		fmt.Println("failed as expected:", err)
		return nil, nil
	})

	connected := deferred.Succeed("connected")
	twisttest.AssertFailure(connected, internet.ErrConnectionRefused).AddErrback(func(f *deferred.Failure) (any, error) {
		fmt.Println("assertion failed:", errors.Is(f, twisttest.ErrAssertion))
		return nil, nil
	})
	// Output:
	// failed as expected: dialing: internet: connect failed: connection refused
	// assertion failed: true
}
