package twisttest

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
)

// loggedErrors are the failures package deferred logged during a test that
// called CheckLoggedErrors, by test.
var loggedErrors struct {
	sync.Mutex
	byTest map[testing.TB]*[]*deferred.Failure
}

// CheckLoggedErrors makes the test fail if package deferred logs an error
// while it runs (LogError, or an unhandled error in a Deferred that the
// garbage collector found) that FlushLoggedErrors did not take: trial's
// verdict on a test that logs an error. At the end of the test, it first
// collects garbage, so that the failed Deferreds the test dropped report.
// Errors are observed process-wide: do not use it in parallel tests.
func CheckLoggedErrors(t testing.TB) {
	t.Helper()
	logged := new([]*deferred.Failure)
	loggedErrors.Lock()
	if loggedErrors.byTest == nil {
		loggedErrors.byTest = make(map[testing.TB]*[]*deferred.Failure)
	}
	loggedErrors.byTest[t] = logged
	loggedErrors.Unlock()
	remove := deferred.ObserveLoggedErrors(func(f *deferred.Failure) {
		loggedErrors.Lock()
		*logged = append(*logged, f)
		loggedErrors.Unlock()
	})
	t.Cleanup(func() {
		collectGarbage()
		remove()
		loggedErrors.Lock()
		left := *logged
		delete(loggedErrors.byTest, t)
		loggedErrors.Unlock()
		if len(left) > 0 {
			var b strings.Builder
			for _, f := range left {
				b.WriteString(f.Traceback())
			}
			t.Errorf("%d error(s) logged and not flushed with FlushLoggedErrors:\n%s", len(left), b.String())
		}
	})
}

// FlushLoggedErrors removes the failures logged since CheckLoggedErrors that
// match one of targets (every one if none are given), so that they do not
// fail the test, and returns them (trial's flushLoggedErrors). It collects
// garbage first, so that failed Deferreds the test dropped report. It
// fails the test if CheckLoggedErrors was not called.
func FlushLoggedErrors(t testing.TB, targets ...any) []*deferred.Failure {
	t.Helper()
	collectGarbage()
	loggedErrors.Lock()
	defer loggedErrors.Unlock()
	logged := loggedErrors.byTest[t]
	if logged == nil {
		t.Fatalf("FlushLoggedErrors without CheckLoggedErrors")
		return nil
	}
	var flushed, kept []*deferred.Failure
	for _, f := range *logged {
		if len(targets) == 0 || f.Check(targets...) != nil {
			flushed = append(flushed, f)
		} else {
			kept = append(kept, f)
		}
	}
	*logged = kept
	return flushed
}

// collectGarbage runs the garbage collector and waits for the cleanups it
// queued: a few rounds, since a Deferred may be found unreachable only once
// another has been collected. Each round waits for the cleanup of a sentinel
// (an object with a pointer, which the tiny allocator never batches with
// others) queued in the same cycle, for a second at most.
func collectGarbage() {
	for range 3 {
		done := make(chan struct{})
		runtime.AddCleanup(new(*int), func(done chan struct{}) { close(done) }, done)
		runtime.GC()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
		runtime.Gosched()
	}
}
