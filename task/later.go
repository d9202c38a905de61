package task

import (
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
)

// DeferLater returns a Deferred that fires, d from now on clk, with the
// result of f, or with nil if f is nil (Twisted's deferLater). An error or
// panic in f fails the Deferred, and a *deferred.Deferred from f is waited
// on. Cancelling the Deferred before it fires cancels the call, so that f
// never runs, and fails the Deferred with deferred.ErrCancelled.
func DeferLater(clk clock.Clock, d time.Duration, f func() (any, error)) *deferred.Deferred {
	var call clock.DelayedCall
	result := deferred.NewWithCanceller(func(*deferred.Deferred) { call.Cancel() })
	if f != nil {
		result.AddCallback(func(any) (any, error) { return f() })
	}
	call = clk.CallLater(d, func() { result.Callback(nil) })
	return result
}
