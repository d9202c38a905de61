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
// that has no result untouched.
package twisttest
