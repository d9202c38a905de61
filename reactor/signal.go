package reactor

import (
	"os"
	"os/signal"
	"syscall"
)

// handleSignals makes SIGINT and SIGTERM stop r, and returns the function
// that undoes it. Stop is safe from the signal goroutine; a signal that
// arrives while r is already stopping does nothing.
func handleSignals(r *Reactor) (stop func()) {
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for {
			select {
			case <-ch:
				_ = r.Stop()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
