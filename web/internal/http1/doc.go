// Package http1 is HTTP/1.1's message syntax and framing (RFC 9112), written
// once for both sides: the request and status lines, header fields, the
// decision of how long a body is, and chunked transfer coding in both
// directions. package web's server uses it, and a client parses responses
// with the same code.
//
// Parsing is strict: what request smuggling feeds on (Content-Length with
// Transfer-Encoding, duplicate or malformed Content-Length, whitespace
// before a field's colon, obs-fold, malformed chunk sizes, bare CR or LF)
// is an error, as in twisted.web's fix for CVE-2022-24801. Errors carry the
// status a server answers with and a fixed reason: they never quote input.
// Nothing here recurses on input or buffers without a limit.
package http1
