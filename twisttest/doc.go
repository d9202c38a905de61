// Package twisttest helps test Twist code without sockets or real time: it is
// what twisted.internet.testing and trial's SynchronousTestCase give Twisted
// users.
//
// StringTransport is a fake connection that records what a protocol writes
// and how it closes, pauses or registers producers, so that a protocol is
// tested by calling its methods directly:
//
//	p := &MyProtocol{}
//	tr := &twisttest.StringTransport{}
//	p.ConnectionMade(tr)
//	p.DataReceived([]byte("hello\r\n"))
//	// inspect tr.Value(), tr.Disconnecting(), ...
//
// SuccessResultOf, FailureResultOf and AssertNoResult check a Deferred's
// result at this instant, with trial's semantics: the first two consume the
// result (a failure they read is handled), and AssertNoResult leaves a Deferred
// that has no result untouched. AssertFailure is trial's assertFailure, for a
// Deferred returned to Run, which runs a real reactor for a test.
//
// CheckLoggedErrors fails a test that logs an error through package deferred
// (LogError, or an unhandled error in a dropped Deferred) unless
// FlushLoggedErrors took it, as trial fails such a test.
//
// MemoryReactorClock stands in for a loop: it records listens and connects
// (it is an internet.Net), runs with Run, CallWhenRunning and system event
// triggers, and keeps a fake clock.
package twisttest
