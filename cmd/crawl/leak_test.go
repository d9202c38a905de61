package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/twistgo/twist/threads"
)

// TestMain fails the run if a test leaves a goroutine behind. The status
// page's /metrics is gathered on the Default thread pool, which lives as
// long as the process, so its idle workers are stopped first: they are not
// leaks.
func TestMain(m *testing.M) {
	code := m.Run()
	threads.Default().Stop()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	os.Exit(code)
}
