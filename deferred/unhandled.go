package deferred

import (
	"log/slog"
	"runtime"
	"sync/atomic"
)

// unhandled tracks the failure a Deferred ends with, apart from the Deferred
// itself, so that a cleanup can report it once the Deferred is unreachable.
// The pointer is atomic because the cleanup runs on another goroutine.
type unhandled struct {
	failure atomic.Pointer[Failure]
	// debug is the Deferred's debug mode record, or nil; the failure's
	// atomic store publishes it to the cleanup.
	debug *debugInfo
}

// markFailed records that d's chain stopped on f. The cleanup is registered
// on the first failure only, so successful Deferreds never pay for it.
func (d *Deferred) markFailed(f *Failure) {
	if d.unhandled == nil {
		d.unhandled = &unhandled{debug: d.debug}
		runtime.AddCleanup(d, reportUnhandled, d.unhandled)
	}
	d.unhandled.failure.Store(f)
}

// markHandled records that d no longer holds a failure.
func (d *Deferred) markHandled() {
	if d.unhandled != nil {
		d.unhandled.failure.Store(nil)
	}
}

// unhandledFailures counts the failures reportUnhandled reported; the
// cleanups run on a goroutine of the runtime's, hence the atomic.
var unhandledFailures atomic.Uint64

// UnhandledFailures returns how many Deferreds this process dropped while
// their result was a failure ("Unhandled error in Deferred" reports) since
// it started. It may be called from any goroutine. A Deferred is counted
// when the garbage collector finds it unreachable, so the count lags the
// drop by up to a collection.
func UnhandledFailures() uint64 { return unhandledFailures.Load() }

// reportUnhandled logs the failure a Deferred was dropped with, and in debug
// mode the stacks that made and first fired the Deferred, as Twisted does.
func reportUnhandled(u *unhandled) {
	f := u.failure.Load()
	if f == nil {
		return
	}
	unhandledFailures.Add(1)
	attrs := []any{"error", f.Error(), "traceback", f.Traceback()}
	if u.debug != nil {
		attrs = append(attrs, "created", formatStack(u.debug.creator), "fired", formatStack(u.debug.invoker))
	}
	slog.Default().Error("Unhandled error in Deferred", attrs...)
	notifyLogged(f)
}
