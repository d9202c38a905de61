package testlog

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestBufferTakesConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

func TestCaptureDefaultRestoresTheLogger(t *testing.T) {
	before := slog.Default()
	t.Run("captured", func(t *testing.T) {
		b := CaptureDefault(t)
		slog.Info("hello", "k", 1)
		if got := b.String(); !strings.Contains(got, "msg=hello k=1") {
			t.Fatalf("captured %q", got)
		}
	})
	if slog.Default() != before {
		t.Fatal("the default logger was not restored when the test ended")
	}
}
