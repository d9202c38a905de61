package threads

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind. The Default
// pool lives as long as the process, as Twisted's reactor thread pool does,
// so its idle workers are stopped first: they are not leaks.
func TestMain(m *testing.M) {
	code := m.Run()
	Default().Stop()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	os.Exit(code)
}
