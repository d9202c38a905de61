// Package web is an HTTP/1.1 server on Twist's event loop, in the model of
// twisted.web: a Site (an internet.Factory) serves a tree of Resources;
// each request walks the tree from the root by path segment (GetChild)
// until it reaches a leaf or runs out of segments, and the resource found
// renders it.
//
// A resource renders by returning the whole body, or by returning
// NotDoneYet and writing the response later with Request.Write and
// Request.Finish (Twisted's NOT_DONE_YET). Request.NotifyFinish returns a
// Deferred that fires when the response is done, and fails if the client
// went away first.
//
// The server speaks HTTP/1.1 in full: persistent connections, pipelining
// (requests are answered one at a time, in order; input that arrives
// meanwhile is buffered up to Limits.MaxPipelineBytes, then the connection
// stops reading: Twisted's fix for its issue #4891), chunked bodies both
// ways, 100-continue, HEAD, Connection: close and HTTP/1.0. Parsing is
// strict (RFC 9112): a request that could be framed two ways, the raw
// material of request smuggling, is answered 400 and its connection closed.
// Every size and time a client controls has a limit (see Limits).
//
// Everything runs on the connection's loop: a resource must not block.
// HandlerResource serves an http.Handler on a thread pool, as Twisted's
// WSGIResource serves a WSGI application.
package web
