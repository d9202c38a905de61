// Package session is the one engine under every RPC connection: the framed
// protocol (package rpc) and the MongoDB wire protocol (package
// rpc/mongowire) are codecs on it. A Conn owns what every connection does
// whatever its format: framing (protocols/basic's length-prefixed
// receiver, in either byte order), the pending calls and their one cap,
// cancellation of those calls when the connection is lost, back-pressure,
// write batching (every answer produced by one read goes out in one
// write), the output cap, draining, and the depth and text bounds that
// decoding and error answers use. A codec decodes one message, dispatches
// it and encodes its answer; it never touches the transport.
package session
