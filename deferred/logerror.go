package deferred

import (
	"log/slog"
	"sync"
)

// LogError logs f and returns it, so that the chain stays on the errback
// path with f unchanged (Twisted's defer.logError): d.AddErrback(LogError)
// logs a failure on its way. If no later errback handles f, the Deferred
// reports it again as unhandled when it is garbage collected, as in Twisted.
func LogError(f *Failure) (any, error) {
	slog.Default().Error("Unhandled Error", "error", f.Error(), "traceback", f.Traceback())
	notifyLogged(f)
	return nil, f
}

// observers are the functions ObserveLoggedErrors registered.
var observers struct {
	sync.Mutex
	fs map[*func(*Failure)]struct{}
}

// ObserveLoggedErrors registers f to be called with each failure this
// package logs: those of LogError and the unhandled errors of Deferreds,
// reported when they are garbage collected. It returns a function that
// removes f. f runs on the goroutine that logs (LogError's caller, or the
// runtime's cleanup goroutine), so it must be safe for that. twisttest uses
// it to fail a test that logged an error, as trial does.
func ObserveLoggedErrors(f func(*Failure)) (remove func()) {
	key := &f
	observers.Lock()
	if observers.fs == nil {
		observers.fs = make(map[*func(*Failure)]struct{})
	}
	observers.fs[key] = struct{}{}
	observers.Unlock()
	return func() {
		observers.Lock()
		delete(observers.fs, key)
		observers.Unlock()
	}
}

// notifyLogged calls the observers with f.
func notifyLogged(f *Failure) {
	observers.Lock()
	fs := make([]func(*Failure), 0, len(observers.fs))
	for key := range observers.fs {
		fs = append(fs, *key)
	}
	observers.Unlock()
	for _, obs := range fs {
		obs(f)
	}
}
