//go:build unix

package reactor

import (
	"log/slog"
	"slices"
	"syscall"
	"testing"
)

// TestSignalStops checks that with WithSignalHandling a SIGTERM stops the
// reactor in an orderly way, running the shutdown triggers.
func TestSignalStops(t *testing.T) {
	r, err := New(WithSignalHandling(), WithLogger(slog.New(&logRecorder{})))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	r.AddSystemEventTrigger(Before, "shutdown", trig(func() { events = append(events, "before shutdown") }))
	r.AddSystemEventTrigger(After, "shutdown", trig(func() { events = append(events, "after shutdown") }))
	r.CallWhenRunning(func() {
		// The handlers were installed in the "during" phase of startup.
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Errorf("kill: %v", err)
		}
	})
	run(t, r)
	if want := []string{"before shutdown", "after shutdown"}; !slices.Equal(events, want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
}
