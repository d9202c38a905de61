// Package reactor is Twist's event loop: Twisted's reactor in Go.
//
// A Reactor is one goroutine that waits in the operating system's poller
// (epoll on Linux, kqueue on macOS and the BSDs, poll(2) on other Unix
// systems) for file descriptors to become ready, for timers to come due and
// for functions posted from other goroutines, and runs their callbacks one
// at a time. An idle reactor sleeps in the poller until its next timer: it
// never polls or ticks. On Windows the reactor runs timers and posted calls,
// but cannot watch file descriptors.
//
// # The threading rule
//
// Everything created on a loop (its timers, its watched descriptors, the
// Deferreds its callbacks make) belongs to that loop, and its callbacks never
// run concurrently with each other, so they need no locks. They must not
// block either: the loop runs nothing else meanwhile. The reactor's methods
// are therefore called on its loop (or before Run, by the goroutine that
// calls Run), with three exceptions that any goroutine may call:
// CallFromThread, the door into the loop; Stop; and Running. The design
// map, docs/design.md in the repository, draws the rule with the layers
// built on the loop and the path of bytes from socket to protocol.
//
// A panic in a callback is recovered and logged with its stack, and the
// loop goes on, as Twisted logs an unhandled exception and carries on.
//
// A Group runs several loops, one per CPU by default, each on its own
// goroutine and each keeping the rule above; state shared across loops is
// the user's to synchronise.
//
// # Twisted names
//
//	reactor.run(), stop()                  Run, Stop
//	reactor.running                        Running
//	reactor.callLater(), IDelayedCall      CallLater, clock.DelayedCall
//	reactor.callFromThread()               CallFromThread
//	reactor.callWhenRunning()              CallWhenRunning
//	reactor.seconds()                      Seconds (and Now)
//	reactor.getDelayedCalls()              DelayedCalls
//	reactor.addSystemEventTrigger() etc.   AddSystemEventTrigger, RemoveSystemEventTrigger, FireSystemEvent
//	'before', 'during', 'after'            Before, During, After
//	IReactorFDSet.addReader() etc.         AddReader, AddWriter, RemoveReader, RemoveWriter, RemoveAll
//	IReadDescriptor, IWriteDescriptor      FileDescriptor
//	ReactorAlreadyRunning                  ErrAlreadyRunning
//	ReactorNotRestartable                  ErrNotRestartable
//	ReactorNotRunning                      ErrNotRunning
//	AlreadyCalled, AlreadyCancelled        clock.ErrAlreadyCalled, clock.ErrAlreadyCancelled
//
// Twisted's crash() and iterate() have no counterpart: a reactor runs once,
// from Run to Stop.
package reactor
