package deferred

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// reportRecorder is a slog.Handler that keeps the "Unhandled error in
// Deferred" records whose error is one of this file's.
type reportRecorder struct {
	mu      sync.Mutex
	reports map[string]int // error message -> reports
	tbs     []string
}

func (r *reportRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *reportRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *reportRecorder) WithGroup(string) slog.Handler            { return r }

func (r *reportRecorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "Unhandled error in Deferred" || rec.Level != slog.LevelError {
		return nil
	}
	var msg, tb string
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "error":
			msg = a.Value.String()
		case "traceback":
			tb = a.Value.String()
		}
		return true
	})
	if !strings.HasPrefix(msg, "unhandled-test ") {
		return nil // another test's Deferred
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports[msg]++
	r.tbs = append(r.tbs, tb)
	return nil
}

func (r *reportRecorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reports[msg]
}

// recordReports installs a reportRecorder as slog's default for the test.
func recordReports(t *testing.T) *reportRecorder {
	r := &reportRecorder{reports: map[string]int{}}
	old := slog.Default()
	slog.SetDefault(slog.New(r))
	t.Cleanup(func() { slog.SetDefault(old) })
	return r
}

// collectUntil runs the garbage collector until done reports true, at most
// a bounded number of times; cleanups run on their own goroutine after a
// cycle, so each round yields to let them run.
func collectUntil(done func() bool) bool {
	for range 200 {
		runtime.GC()
		runtime.Gosched()
		if done() {
			return true
		}
	}
	return false
}

// drop builds a Deferred with build and lets it go. It is not inlined so that
// no reference to the Deferred stays in the caller's frame.
//
//go:noinline
func drop(build func() *Deferred) { build() }

// failing returns a Deferred that failed with an error of message msg.
func failing(msg string) *Deferred {
	d := New()
	d.AddCallback(func(any) (any, error) { return nil, errors.New(msg) })
	d.Callback(nil)
	return d
}

// pendingFailure is the failure a cleanup would report for d now.
func pendingFailure(d *Deferred) *Failure {
	if d.unhandled == nil {
		return nil
	}
	return d.unhandled.failure.Load()
}

func TestUnhandledReport(t *testing.T) {
	r := recordReports(t)
	const msg = "unhandled-test dropped"
	before := UnhandledFailures()
	drop(func() *Deferred { return failing(msg) })
	if !collectUntil(func() bool { return r.count(msg) > 0 }) {
		t.Fatal("a dropped failed Deferred was never reported")
	}
	// Other tests' Deferreds may be counted meanwhile, never fewer.
	if n := UnhandledFailures(); n < before+1 {
		t.Errorf("UnhandledFailures went from %d to %d, want at least one more", before, n)
	}
	// More cycles must not report it again.
	for range 5 {
		runtime.GC()
		runtime.Gosched()
	}
	if n := r.count(msg); n != 1 {
		t.Fatalf("reported %d times, want once", n)
	}
	r.mu.Lock()
	tb := r.tbs[0]
	r.mu.Unlock()
	if !strings.HasPrefix(tb, "*errors.errorString: "+msg+"\n") || !strings.Contains(tb, "failing") {
		t.Fatalf("traceback does not show the error and where it arose:\n%s", tb)
	}
}

func TestUnhandledNotReported(t *testing.T) {
	tests := []struct {
		name  string
		build func(msg string) *Deferred
	}{
		{"failure handled by an errback", func(msg string) *Deferred {
			return failing(msg).AddErrback(func(*Failure) (any, error) { return nil, nil })
		}},
		{"failure handled by an errback added before firing", func(msg string) *Deferred {
			d := New()
			d.AddErrback(func(*Failure) (any, error) { return "ok", nil })
			d.Errback(errors.New(msg))
			return d
		}},
		{"failed Deferred returned from a callback and handled there", func(msg string) *Deferred {
			d := New()
			d.AddCallback(func(any) (any, error) { return Fail(errors.New(msg)), nil })
			d.Callback(nil)
			return d.AddErrback(func(*Failure) (any, error) { return nil, nil })
		}},
		{"failure passed on to a Deferred that waits, then handled", func(msg string) *Deferred {
			inner := New()
			outer := Succeed(nil).AddCallback(func(any) (any, error) { return inner, nil })
			outer.AddErrback(func(*Failure) (any, error) { return nil, nil })
			inner.Errback(errors.New(msg))
			return inner
		}},
		{"errback that chains the failure to a Deferred that never fires", func(msg string) *Deferred {
			good := New()
			return Fail(errors.New(msg)).AddErrback(func(*Failure) (any, error) { return good, nil })
		}},
		{"failure passed by Chain and handled there", func(msg string) *Deferred {
			d, other := New(), New()
			d.Chain(other)
			other.AddErrback(func(*Failure) (any, error) { return nil, nil })
			d.Errback(errors.New(msg))
			return d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := "unhandled-test " + tt.name
			if f := pendingFailure(tt.build(msg)); f != nil {
				t.Fatalf("Deferred still holds an unhandled %v", f)
			}
			r := recordReports(t)
			const sentinel = "unhandled-test sentinel"
			drop(func() *Deferred { return tt.build(msg) })
			drop(func() *Deferred { return failing(sentinel) })
			if !collectUntil(func() bool { return r.count(sentinel) > 0 }) {
				t.Fatal("the sentinel failure was never reported")
			}
			if n := r.count(msg); n != 0 {
				t.Fatalf("handled failure reported %d times", n)
			}
		})
	}
	t.Run("cleared by a later errback, a second failure is pending again", func(t *testing.T) {
		d := failing("unhandled-test first")
		d.AddErrback(func(*Failure) (any, error) { return nil, nil })
		if pendingFailure(d) != nil {
			t.Fatal("handled failure still pending")
		}
		d.AddCallback(func(any) (any, error) { return nil, errors.New("unhandled-test second") })
		if f := pendingFailure(d); f == nil || f.Error() != "unhandled-test second" {
			t.Fatalf("pending %v, want the second failure", f)
		}
		d.AddErrback(func(*Failure) (any, error) { return nil, nil })
	})
	t.Run("successful Deferreds register no cleanup", func(t *testing.T) {
		if d := Succeed(1); d.unhandled != nil {
			t.Fatal("a successful Deferred tracks failures")
		}
	})
}
