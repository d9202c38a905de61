// Package basic holds Twisted's basic protocols (twisted.protocols.basic):
// LineReceiver and LineOnlyReceiver for delimited lines, Int32StringReceiver,
// Int16StringReceiver and Int8StringReceiver for strings with a big-endian
// length prefix, and NetstringReceiver for netstrings; StatefulStringProtocol
// for state machines over strings; FileSender, a producer that streams a file
// to a transport.
//
// Go has no subclassing, so a receiver is a struct that a protocol embeds,
// with a Handler field pointing back at the protocol: the receiver does the
// framing and calls the handler's LineReceived or StringReceived once per
// message. Optional methods on the handler (RawDataReceived,
// LineLengthExceeded, LengthLimitExceeded) are found by type assertion and
// replace the default behaviour, as overriding does in Twisted:
//
//	type Echo struct{ basic.LineReceiver }
//
//	func (e *Echo) LineReceived(line []byte) { e.SendLine(line) }
//
//	func NewEcho() *Echo {
//		e := &Echo{}
//		e.Handler = e
//		return e
//	}
//
// A protocol that needs ConnectionMade or ConnectionLost defines them and calls
// the embedded receiver's method first. Where a Twisted handler returns a
// reason to drop the connection, a line handler calls the receiver's
// AbortWith(reason).
//
// The slice passed to a handler is valid only during the call: it points into
// the data being received or into the receiver's buffer, both reused. Parsing
// does not copy or allocate while messages lie within the data received; only
// a message split across reads is copied, into a buffer bounded by the
// receiver's maximum message length plus its framing. A receiver is not safe
// for concurrent use: its methods run on its connection's loop.
package basic
