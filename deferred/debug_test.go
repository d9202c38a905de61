package deferred

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// debugMode turns debug mode on for the test.
func debugMode(t *testing.T) {
	SetDebugging(true)
	t.Cleanup(func() { SetDebugging(false) })
}

//go:noinline
func madeHere() *Deferred { return New() }

//go:noinline
func firedHere(d *Deferred) { d.Callback(1) }

// secondFire fires d again and returns the panic's value.
func secondFire(d *Deferred) (v any) {
	defer func() { v = recover() }()
	d.Callback(2)
	return nil
}

// In debug mode, a second firing panics with both stacks (Twisted's
// test_alreadyCalledDebug_CC); outside it, with ErrAlreadyCalled itself,
// and so does a Deferred made before debug mode was switched on.
func TestDebugAlreadyCalled(t *testing.T) {
	plain := madeHere()
	debugMode(t)
	if !Debugging() {
		t.Fatal("Debugging() = false after SetDebugging(true)")
	}
	d := madeHere()
	firedHere(d)
	v := secondFire(d)
	e, ok := v.(*AlreadyCalledError)
	if !ok || !errors.Is(e, ErrAlreadyCalled) {
		t.Fatalf("panic value %#v, want an *AlreadyCalledError", v)
	}
	if !strings.Contains(e.Creator, "madeHere") || !strings.Contains(e.FirstInvoker, "firedHere") {
		t.Fatalf("stacks do not show the creator and the first invoker:\n%s", e.Error())
	}
	if !strings.Contains(e.Error(), "C: Deferred was created:") || !strings.Contains(e.Error(), "I: First Invoker was:") {
		t.Fatalf("message not in Twisted's form:\n%s", e.Error())
	}
	firedHere(plain)
	if v := secondFire(plain); v != ErrAlreadyCalled {
		t.Fatalf("a Deferred made outside debug mode panicked with %#v", v)
	}
	SetDebugging(false)
	late := madeHere()
	firedHere(late)
	if v := secondFire(late); v != ErrAlreadyCalled {
		t.Fatalf("debug mode switched off: panic value %#v", v)
	}
}

// attrRecorder keeps the attributes of the error records of one message.
type attrRecorder struct {
	msg string
	mu  sync.Mutex
	got []map[string]string
}

func (r *attrRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *attrRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *attrRecorder) WithGroup(string) slog.Handler            { return r }

func (r *attrRecorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != r.msg || rec.Level != slog.LevelError {
		return nil
	}
	m := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

// find returns the first record whose error is msg.
func (r *attrRecorder) find(msg string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.got {
		if m["error"] == msg {
			return m
		}
	}
	return nil
}

func recordAttrs(t *testing.T, msg string) *attrRecorder {
	r := &attrRecorder{msg: msg}
	old := slog.Default()
	slog.SetDefault(slog.New(r))
	t.Cleanup(func() { slog.SetDefault(old) })
	return r
}

//go:noinline
func failedHere(msg string) *Deferred {
	d := madeHere()
	d.Errback(errors.New(msg))
	return d
}

// In debug mode, the unhandled error report shows where the Deferred was
// made and first fired.
func TestDebugUnhandledReport(t *testing.T) {
	r := recordAttrs(t, "Unhandled error in Deferred")
	debugMode(t)
	const msg = "debug-test dropped"
	drop(func() *Deferred { return failedHere(msg) })
	if !collectUntil(func() bool { return r.find(msg) != nil }) {
		t.Fatal("a dropped failed Deferred was never reported")
	}
	m := r.find(msg)
	if !strings.Contains(m["created"], "madeHere") || !strings.Contains(m["fired"], "failedHere") {
		t.Fatalf("report without the debug stacks: %q", m)
	}
}

// LogError logs the failure and passes it on unchanged; observers see it.
func TestLogError(t *testing.T) {
	r := recordAttrs(t, "Unhandled Error")
	var mu sync.Mutex
	var observed []*Failure
	remove := ObserveLoggedErrors(func(f *Failure) {
		mu.Lock()
		observed = append(observed, f)
		mu.Unlock()
	})
	defer remove()
	errBoom := errors.New("log-error boom")
	d := Fail(errBoom)
	var first, next *Failure
	d.AddErrback(func(f *Failure) (any, error) { first = f; return LogError(f) })
	d.AddErrback(func(f *Failure) (any, error) { next = f; return nil, nil })
	if first == nil || next != first {
		t.Fatalf("the next errback got %v, want the same failure %v", next, first)
	}
	if m := r.find(errBoom.Error()); m == nil || !strings.Contains(m["traceback"], "log-error boom") {
		t.Fatalf("not logged with its traceback: %q", r.got)
	}
	remove()
	LogError(NewFailure(errBoom))
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 1 || observed[0] != first {
		t.Fatalf("observers saw %v, want the one failure logged while observing", observed)
	}
}
