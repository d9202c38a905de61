package reactor

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// logRecorder is a slog.Handler that keeps the records, for tests that check
// what the reactor logged.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, rec.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// messages returns the messages logged so far.
func (h *logRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var msgs []string
	for _, rec := range h.records {
		msgs = append(msgs, rec.Message)
	}
	return msgs
}

// attr returns the value of attribute key of record i.
func (h *logRecorder) attr(i int, key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var v string
	h.records[i].Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// newReactor returns a reactor that logs to the returned recorder and is
// closed when the test ends if it never ran.
func newReactor(t testing.TB) (*Reactor, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	r, err := New(WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, rec
}

// run runs r and fails the test if Run fails.
func run(t testing.TB, r *Reactor) {
	t.Helper()
	if err := r.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// stop stops r from a callback, failing the test if it was not running.
func stop(t testing.TB, r *Reactor) {
	t.Helper()
	if err := r.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// goid returns the current goroutine's id, to check where callbacks run.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}
