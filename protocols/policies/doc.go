// Package policies wraps any internet.Factory with rules for its connections,
// as twisted.protocols.policies does: time-outs, caps on the number of
// connections in all and per peer address, throttling of the bytes read and
// written, and a cap on queued output above which a connection stops reading.
//
// Every policy is built on one pair: a WrappingFactory, which builds the
// wrapped factory's protocol for each connection and puts a ProtocolWrapper
// between it and the transport. The wrapper is the transport the wrapped
// protocol sees, so a policy sees every byte read and written and every call
// to pause, resume or close. Policies nest: each is a Factory, so
//
//	f := policies.LimitTotalConnections(
//		policies.LimitConnectionsByPeer(
//			policies.Timeout(server, policies.TimeoutConfig{Idle: 5 * time.Minute, Read: 30 * time.Second}),
//			10),
//		10000)
//
// accepts at most 10,000 connections, 10 per peer address, and closes those
// that idle for 5 minutes or take more than 30 seconds to send a message.
//
// Counters shared by a factory's connections are safe for concurrent use, as
// a factory listening on a loop group is called from each of its loops; the
// per-connection state of a wrapper lives on its connection's loop.
//
// Where Twist differs from Twisted on purpose: throttling is per connection
// (Twisted's ThrottlingFactory pauses every connection of the factory, which
// would reach across loops here), and a wrapper does not forward half-closes
// or StartTLS; wrap the protocol inside the TLS layer instead.
package policies
