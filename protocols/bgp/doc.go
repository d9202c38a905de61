// Package bgp speaks BGP-4 (RFC 4271) on a Twist loop: the messages and path
// attributes routers send today, the finite-state machine of RFC 4271 §8 with
// its timers on the loop's clock, and a small Adj-RIB-In per peer.
//
// The codec is in message.go (header, framing, NOTIFICATION), open.go (OPEN
// and capabilities), attr.go (path attributes) and update.go (UPDATE and the
// zero-copy UpdateReader). Decoding never trusts a length from the wire, and
// every malformed message is reported as the *Notification RFC 4271 §6
// prescribes; for UPDATE errors an *UpdateError also says which of RFC 7606's
// approaches applies (session reset, treat-as-withdraw, attribute discard).
//
// The FSM is Peer (fsm.go): one per configured neighbour, dialling through a
// Dialer and accepting connections handed to it by a Speaker, which is the
// listening side's Factory. A Peer's callbacks run on its loop, one at a time,
// as every protocol's do.
//
// What is not here: ADD-PATH and graceful restart are negotiated as
// capabilities (encoded, decoded) but not acted on; address families other
// than IPv4 and IPv6 unicast are skipped; there is no policy or best-path
// selection (the Adj-RIB-In keeps what each peer sent).
package bgp
