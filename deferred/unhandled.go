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
}

// markFailed records that d's chain stopped on f. The cleanup is registered
// on the first failure only, so successful Deferreds never pay for it.
func (d *Deferred) markFailed(f *Failure) {
	if d.unhandled == nil {
		d.unhandled = &unhandled{}
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

func reportUnhandled(u *unhandled) {
	if f := u.failure.Load(); f != nil {
		slog.Default().Error("Unhandled error in Deferred", "error", f.Error(), "traceback", f.Traceback())
	}
}
