package twisttest

import (
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// Run plays a reactor's run without a loop (Twisted's MemoryReactor.run):
// Running becomes true and the "startup" event fires, whose After phase
// runs the CallWhenRunning functions; then it stops as Stop does, unless
// those functions stopped it already. It returns
// reactor.ErrAlreadyRunning while running, and reactor.ErrNotRestartable
// once it has run.
func (m *MemoryReactor) Run() error {
	switch {
	case m.running:
		return reactor.ErrAlreadyRunning
	case m.hasRun:
		return reactor.ErrNotRestartable
	}
	m.hasRun = true
	m.running = true
	m.FireSystemEvent("startup")
	if m.running && !m.stopping {
		return m.Stop()
	}
	return nil
}

// Stop fires the "shutdown" event, after whose During triggers Running is
// false and Stopped true. The event runs synchronously, but waits as a
// Reactor's does for the Deferreds of its Before triggers, which the test
// fires. It returns reactor.ErrNotRunning unless the reactor is running
// and not stopping already.
func (m *MemoryReactor) Stop() error {
	if !m.running || m.stopping {
		return reactor.ErrNotRunning
	}
	m.stopping = true
	m.AddSystemEventTrigger(reactor.During, "shutdown", func() *deferred.Deferred {
		m.running, m.stopping, m.hasStopped = false, false, true
		return nil
	})
	m.FireSystemEvent("shutdown")
	return nil
}

// Running reports whether Run has started and Stop not yet finished the
// During phase of shutdown.
func (m *MemoryReactor) Running() bool { return m.running }

// Stopped reports whether the reactor has run and stopped (Twisted's
// MemoryReactor.hasStopped).
func (m *MemoryReactor) Stopped() bool { return m.hasStopped }

// CallWhenRunning runs f now if the reactor is running, and otherwise in
// the After phase of startup, as a Reactor does.
func (m *MemoryReactor) CallWhenRunning(f func()) {
	if m.running {
		f()
		return
	}
	m.AddSystemEventTrigger(reactor.After, "startup", func() *deferred.Deferred {
		f()
		return nil
	})
}
