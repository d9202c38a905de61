// Package threads runs blocking code off the event loop and brings its
// results back: Twisted's twisted.internet.threads and the reactor's thread
// pool.
//
// A loop never blocks, so code that must (a blocking library call, a heavy
// computation) runs on a worker goroutine of a Pool, and its result comes
// back to the loop through the loop's CallFromThread:
//
//	d := threads.DeferToThread(r, func() (any, error) {
//		return os.ReadFile(name) // blocks a worker, not the loop
//	})
//	d.AddCallback(func(v any) (any, error) { ... }) // runs on r's loop
//
// The other way round, a goroutine that is not the loop asks the loop to do
// something and waits for the answer with BlockingCallFromThread.
//
// Twisted names map to Go names as follows: deferToThread is DeferToThread,
// deferToThreadPool is DeferToThreadPool, callMultipleInThread is
// CallMultipleInThread, blockingCallFromThread is BlockingCallFromThread,
// reactor.callInThread is CallInThread, ThreadPool is Pool, adjustPoolsize
// and reactor.suggestThreadPoolSize are Pool.SetSize.
//
// Unlike Twisted, which gives each reactor a pool, the package has one
// Default pool for the whole process: a worker goroutine belongs to no loop,
// and a process usually runs one loop per core. A program that wants its own
// pool, or a pool that stops with its reactor, makes one with NewPool, passes
// it to DeferToThreadPool and stops it with Pool.Stop, or from a "before
// shutdown" trigger with Pool.StopDeferred.
//
// Every queue is bounded: a pool refuses work past its queue limit with
// ErrQueueFull, which DeferToThread reports as a failed Deferred.
package threads
