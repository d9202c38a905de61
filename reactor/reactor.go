package reactor

import (
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
)

var (
	// ErrAlreadyRunning is returned by Run when the reactor is running
	// (Twisted's ReactorAlreadyRunning).
	ErrAlreadyRunning = errors.New("reactor: already running")
	// ErrNotRestartable is returned by Run when the reactor has already run
	// and stopped (Twisted's ReactorNotRestartable): a reactor runs once.
	ErrNotRestartable = errors.New("reactor: cannot be restarted")
	// ErrNotRunning is returned by Stop when the reactor is not running or is
	// already stopping (Twisted's ReactorNotRunning).
	ErrNotRunning = errors.New("reactor: not running")
)

// Reactor states, in the only order they are entered. Stop and Run may be
// called from any goroutine, so the state is atomic.
const (
	stateIdle     int32 = iota // created, Run not called
	stateStarted               // Run called: firing startup, or looping
	stateStopping              // Stop called: shutdown pending or in progress
	stateStopped               // the shutdown "during" phase ran, or closed
)

// Reactor is one event loop: a goroutine that waits in the poller for file
// descriptors to become ready, for timers to come due and for calls posted by
// other goroutines, and runs their callbacks one at a time.
//
// Apart from CallFromThread, Stop and Running, which any goroutine may call,
// a Reactor's methods must be called on its loop, that is from its
// callbacks, or before Run by the goroutine that then calls Run.
type Reactor struct {
	// What the dispatch of every event reads comes first, together, for
	// a system call leaves little of it in the cache.
	//
	// The handlers and what each is watched for, indexed by descriptor
	// number: two slices, so that a descriptor costs 17 bytes, not 24.
	fds     []FileDescriptor
	ins     []interest
	readBuf []byte
	// current is the descriptor whose handler runs, and its number, for
	// the recover of dispatchFrom.
	current  int
	currentD FileDescriptor

	state   atomic.Int32
	running atomic.Bool // Twisted's reactor.running: true from "during startup" on
	// sleeping is set while the loop is (about to be) blocked in the poller
	// with a non-zero timeout; a poster that clears it must wake the poller.
	sleeping atomic.Bool
	posted   mpscQueue
	done     chan struct{} // closed when the reactor has stopped for good

	log     *slog.Logger
	signals bool
	epoch   time.Time // timers count monotonic nanoseconds from here
	seq     uint64    // orders timers due at the same instant
	timers  timerHeap

	triggers    SystemEvents
	looping     bool // the loop goes on; cleared by the "during shutdown" crash
	shutdownRan bool // the shutdown event has been fired
	// yield makes the loop yield the processor before it next sleeps in
	// the poller: a goroutine that will post to it may be runnable.
	yield       bool
	stopSignals func()
	p           poller

	// stats are the loop's own counters (stats.go); lastStats is the last
	// copy Stats got from the loop, and stopped the time the loop ended.
	stats     loopStats
	lastStats atomic.Pointer[Stats]
	stopped   int64
}

type options struct {
	log     *slog.Logger
	signals bool
}

// Option configures a Reactor made by New or the loops made by NewGroup.
type Option func(*options)

// WithLogger sets the logger that receives the panics recovered from
// callbacks and the failures of system event triggers. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithSignalHandling makes the reactor stop in an orderly way, firing the
// shutdown event, on SIGINT or SIGTERM while it runs. The handlers are
// installed in the "during" phase of startup, as Twisted does, and removed
// when Run returns.
func WithSignalHandling() Option {
	return func(o *options) { o.signals = true }
}

// New returns a reactor that is ready to run. It opens the poller at once so
// that file descriptors can be watched before Run; Run releases it when it
// returns, and Close releases it for a reactor that is never run.
func New(opts ...Option) (*Reactor, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	r := &Reactor{
		log:     o.log,
		signals: o.signals,
		epoch:   time.Now(),
		readBuf: make([]byte, readBufferSize),
		done:    make(chan struct{}),
	}
	r.triggers.Log = o.log
	r.posted.init()
	if err := r.p.init(); err != nil {
		return nil, err
	}
	// The reactor's own triggers, registered first so that they run before
	// the user's in the same phase, as in Twisted's ReactorBase.__init__.
	r.AddSystemEventTrigger(During, "startup", r.startRunning)
	r.AddSystemEventTrigger(During, "shutdown", r.crash)
	r.AddSystemEventTrigger(During, "shutdown", r.disconnectAll)
	return r, nil
}

// Run runs the loop: it fires the startup event, then runs callbacks until
// Stop has been called and the shutdown event has run its "during" phase
// and its "after" phase. It returns ErrAlreadyRunning if the reactor is
// running and ErrNotRestartable if it has already run; a reactor runs once.
// It returns a non-nil error otherwise only if the poller fails.
func (r *Reactor) Run() error {
	if !r.state.CompareAndSwap(stateIdle, stateStarted) {
		if r.state.Load() == stateStopped {
			return ErrNotRestartable
		}
		return ErrAlreadyRunning
	}
	r.looping = true
	r.FireSystemEvent("startup")
	err := r.loop()
	if err != nil {
		r.log.Error("reactor: poller failed; the loop stops", "error", err)
	}
	r.state.Store(stateStopped)
	r.running.Store(false)
	if r.stopSignals != nil {
		r.stopSignals()
	}
	r.p.close()
	close(r.done)
	return err
}

// loop is Twisted's mainLoop: posted calls, then due timers, then the
// shutdown event if Stop was called, then a wait in the poller, then the
// dispatch of the ready file descriptors.
func (r *Reactor) loop() error {
	r.stats.started = max(1, r.elapsed())
	defer func() { r.stopped = r.elapsed() }()
	for r.looping {
		r.stats.iterations++
		if r.runPosted() {
			// Their posters may be waiting for what these calls did: a
			// caller of BlockingCallFromThread, a TLS connection's goroutine.
			r.yield = true
		}
		r.runTimers()
		if !r.shutdownRan && r.state.Load() == stateStopping {
			r.shutdownRan = true
			r.FireSystemEvent("shutdown")
		}
		if !r.looping {
			break
		}
		timeout := r.timeout()
		if timeout != 0 && r.yield {
			// A goroutine this loop has just woken (a worker, a caller of
			// BlockingCallFromThread, a TLS handshake) waits in this
			// thread's run queue, and would wait there until the runtime
			// takes the processor back from the blocking poll, tens of
			// microseconds later and through another thread. Let it run
			// first. Only then: a yield costs a trip through the
			// scheduler, which with more than one P may move the loop to
			// another thread, and a busy server would pay it on every
			// wait. The loop is not yet published as sleeping, so what
			// the goroutine posts meanwhile costs it no wake-up call.
			r.yield = false
			runtime.Gosched()
			timeout = r.timeout()
		}
		if timeout != 0 {
			// Publish that we are going to sleep, then look again for work
			// posted meanwhile: a poster either sees sleeping (and wakes us)
			// or its work is seen here (and we do not sleep).
			r.sleeping.Store(true)
			if !r.posted.empty() || (!r.shutdownRan && r.state.Load() == stateStopping) {
				timeout = 0
			}
		}
		n, err := r.wait(timeout)
		r.sleeping.Store(false)
		if err != nil {
			return err
		}
		r.dispatch(n)
	}
	return nil
}

// YieldBeforeWait tells the loop that the callback running has woken a
// goroutine that will answer through CallFromThread, such as a
// DeferToThread worker: before the loop next sleeps in the poller, it
// yields the processor (runtime.Gosched), so that the goroutine runs at
// once rather than when the runtime takes the thread back from the poll,
// tens of microseconds later. The loop does so by itself after it has run
// posted calls, whose posters may be waiting for them. It must be called
// on the loop.
func (r *Reactor) YieldBeforeWait() { r.yield = true }

// timeout returns how long the poller may sleep: until the next timer, or
// for ever (-1) when there is none.
func (r *Reactor) timeout() time.Duration {
	if !r.posted.empty() {
		return 0
	}
	if len(r.timers) == 0 {
		return -1 // and no clock read
	}
	return max(0, time.Duration(r.timers[0].when-r.elapsed()))
}

// Stop asks the reactor to stop: the shutdown event fires on the loop after
// the current callback returns, and Run returns after its "after" phase. It
// returns ErrNotRunning if the reactor is not running or is already
// stopping. Stop is safe to call from any goroutine.
func (r *Reactor) Stop() error {
	if !r.state.CompareAndSwap(stateStarted, stateStopping) {
		return ErrNotRunning
	}
	r.wakeIfSleeping()
	return nil
}

// Close releases the poller of a reactor that will never run, and makes a
// later Run return ErrNotRestartable. Run releases the poller itself when it
// returns, so Close is needed only for a reactor that was never run; it is a
// no-op on a stopped reactor and returns ErrAlreadyRunning on a running one.
func (r *Reactor) Close() error {
	if r.state.CompareAndSwap(stateIdle, stateStopped) {
		r.p.close()
		close(r.done)
		return nil
	}
	if r.state.Load() == stateStopped {
		return nil
	}
	return ErrAlreadyRunning
}

// Done returns a channel that is closed once the reactor has stopped for
// good: when Run returns, or when Close closes a reactor that never ran. From
// then on, no function given to CallFromThread runs, so a goroutine waiting
// for the loop to do something selects on Done too, not to wait for ever, as
// threads.BlockingCallFromThread does. It is safe to call from any goroutine.
func (r *Reactor) Done() <-chan struct{} { return r.done }

// startRunning is the reactor's own "during startup" trigger.
func (r *Reactor) startRunning() *deferred.Deferred {
	r.running.Store(true)
	if r.signals {
		r.stopSignals = handleSignals(r)
	}
	return nil
}

// crash is the reactor's own "during shutdown" trigger: the loop ends after
// the shutdown event has run its "after" phase.
func (r *Reactor) crash() *deferred.Deferred {
	r.looping = false
	r.running.Store(false)
	r.state.Store(stateStopped)
	return nil
}

// Running reports whether the reactor is running: true from the "during"
// phase of startup until the "during" phase of shutdown (Twisted's
// reactor.running). It is safe to call from any goroutine.
func (r *Reactor) Running() bool { return r.running.Load() }

// CallWhenRunning runs f now if the reactor is running, and otherwise once it
// has started, in the "after" phase of startup. Functions passed before Run
// run in the order they were passed.
func (r *Reactor) CallWhenRunning(f func()) {
	if r.running.Load() {
		f()
		return
	}
	r.AddSystemEventTrigger(After, "startup", func() *deferred.Deferred {
		f()
		return nil
	})
}

// Now returns the current time. Reactor implements clock.Clock.
func (r *Reactor) Now() time.Time { return time.Now() }

// Seconds returns the current time as Twisted's float seconds since the
// Unix epoch (reactor.seconds()), for code ported from Twisted.
func (r *Reactor) Seconds() float64 { return clock.Seconds(r.Now()) }

// elapsed returns the monotonic time since the reactor was made, the time
// base of its timers: unlike the wall clock it never jumps.
func (r *Reactor) elapsed() int64 { return int64(time.Since(r.epoch)) }

// safely runs f, recovering and logging a panic so that the loop goes on.
func (r *Reactor) safely(what string, f func()) {
	defer r.recoverPanic(what)
	f()
}

// recoverPanic is deferred by the callers of user code; it must be the
// deferred function itself for recover to work.
func (r *Reactor) recoverPanic(what string) {
	if v := recover(); v != nil {
		r.logPanic(what, v)
	}
}

// logPanic logs a recovered panic with the stack of the goroutine, which at
// this point still holds the panicking frames.
func (r *Reactor) logPanic(what string, v any) {
	r.log.Error("reactor: panic in "+what, "panic", v, "stack", string(debug.Stack()))
}
