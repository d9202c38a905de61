package testlog

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer that is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a text logger that writes to b.
func (b *Buffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, nil))
}

// CaptureDefault sends log/slog's default logger to a new Buffer until the
// test ends, and returns the buffer. Tests that use it must not run in
// parallel with others that log.
func CaptureDefault(t testing.TB) *Buffer {
	b := &Buffer{}
	old := slog.Default()
	slog.SetDefault(b.Logger())
	t.Cleanup(func() { slog.SetDefault(old) })
	return b
}
