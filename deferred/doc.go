// Package deferred is Twisted's Deferred in Go: a result that is not there
// yet, a chain of callbacks and errbacks that process it when it arrives, and
// the tools built on it (List, Gather, Race, Maybe, Inline, Semaphore, Lock,
// Queue).
//
// The semantics are Twisted's, as its Deferred reference describes:
//
//   - a callback returns (value, error); an error switches the chain to the
//     errback path, where the error arrives as a *Failure;
//   - an errback that returns a value with a nil error resumes the callback
//     path;
//   - a callback that returns a *Deferred pauses the chain until that
//     Deferred fires, and the chain goes on with its result;
//   - a panic in a callback becomes a *Failure, never a crash;
//   - firing a Deferred twice panics with ErrAlreadyCalled;
//   - a failure left unhandled when the Deferred is garbage collected is
//     logged as "Unhandled error in Deferred".
//
// Twisted names map to Go names as follows: addCallbacks is AddCallbacks,
// chainDeferred is Chain, maybeDeferred is Maybe, DeferredList is List,
// gatherResults is Gather, inlineCallbacks is Inline, setDebugging is
// SetDebugging, logError is LogError, and CancelledError, TimeoutError and
// AlreadyCalledError are ErrCancelled, *TimeoutError and ErrAlreadyCalled
// (an *AlreadyCalledError with the stacks in debug mode).
//
// A Deferred belongs to one event loop and is not safe for concurrent use:
// fire it and add callbacks to it on that loop only. Results from other
// goroutines come in through the reactor's CallFromThread.
//
// Extra arguments to callbacks, which Twisted passes as args tuples, are
// closures in Go.
package deferred
