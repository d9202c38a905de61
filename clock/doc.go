// Package clock defines the time interface that Twist's scheduling code
// depends on: the reactor implements it with real time, and task.Clock with
// fake time for tests, so that deferred.AddTimeout, package task and user code
// run unchanged on either.
//
// It is Twisted's IReactorTime and IDelayedCall.
package clock
