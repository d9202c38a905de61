package clock

import (
	"errors"
	"time"
)

// Clock schedules functions to run later. Implementations run every function
// on one goroutine (their loop), never concurrently with each other.
type Clock interface {
	// Now returns the clock's current time.
	Now() time.Time
	// CallLater arranges for f to run once, d from now. A d of zero or less
	// runs f on the next turn of the loop, never from inside CallLater.
	CallLater(d time.Duration, f func()) DelayedCall
}

// DelayedCall is a call scheduled by Clock.CallLater.
type DelayedCall interface {
	// Cancel stops the call from running. It returns ErrAlreadyCalled or
	// ErrAlreadyCancelled if the call has already run or been cancelled.
	Cancel() error
	// Reset reschedules the call to run d from now.
	Reset(d time.Duration) error
	// Delay postpones the call by d (a negative d brings it forward).
	Delay(d time.Duration) error
	// Active reports whether the call has neither run nor been cancelled.
	Active() bool
	// Time returns when the call is scheduled to run.
	Time() time.Time
}

var (
	// ErrAlreadyCalled is returned when cancelling or rescheduling a call that has run.
	ErrAlreadyCalled = errors.New("clock: the call has already run")
	// ErrAlreadyCancelled is returned when cancelling or rescheduling a cancelled call.
	ErrAlreadyCancelled = errors.New("clock: the call has already been cancelled")
)

// Seconds converts a time to Twisted's float seconds since the Unix epoch,
// for code ported from reactor.seconds().
func Seconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
