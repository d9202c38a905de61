package plugins

import (
	"errors"
	"flag"
	"syscall"
	"testing"
	"time"
)

// Every server plugin has --write-timeout, 30 s by default.
func TestServerPluginsHaveWriteTimeout(t *testing.T) {
	for _, sm := range All {
		fs := flag.NewFlagSet(sm.Name, flag.ContinueOnError)
		sm.Flags(fs)
		f := fs.Lookup("write-timeout")
		if f == nil {
			t.Errorf("%s has no --write-timeout", sm.Name)
			continue
		}
		if f.DefValue != "30s" {
			t.Errorf("%s: --write-timeout defaults to %s, want 30s", sm.Name, f.DefValue)
		}
	}
}

// An echo client that writes without reading is aborted by the write
// time-out, long before the idle one.
func TestEchoPluginAbortsAPeerThatDoesNotRead(t *testing.T) {
	const write = 500 * time.Millisecond
	c := dial(t, startPlugin(t, "echo", "--write-timeout", write.String(), "--idle-timeout", "5m"))
	start := time.Now()
	wrote := make(chan error, 1)
	go func() {
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		chunk := make([]byte, 64<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
	}()
	// The echo's answers fill its queue and it stops reading; then the
	// kernels' buffers fill, and Write blocks until the server aborts.
	err := <-wrote
	took := time.Since(start)
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("the writer ended with %v after %v, want a reset", err, took)
	}
	if took < write {
		t.Errorf("reset after %v, before the write time-out %v", took, write)
	}
}
