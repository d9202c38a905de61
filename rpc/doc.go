// Package rpc calls functions across a connection with BSON messages: the
// framed protocol of docs/design.md ("RPC wire formats"), a Server with a
// registry of ordinary Go functions, and a Go Client.
//
// A Go program calls a server in two lines, from any goroutine:
//
//	c, err := rpc.Dial(ctx, "host:9000")
//	err = c.Call(ctx, "add", []any{1, 2}, &sum)
//
// The client runs on a loop shared by the clients of Dial; code that runs
// on a loop of its own uses DialOn and CallRemote, which return Deferreds.
// A call's deadline, from its context or the client's WithTimeout, goes to
// the server with the call (maxTimeMS), and the client times out too.
//
// Every frame is a 4-byte big-endian body length followed by one BSON
// document (the framing is basic.Int32StringReceiver's):
//
//	{call: {funcname: "add", arguments: [1, 2]}, id: 7}
//	{reply: 3, id: 7}
//	{error: {message: "NoSuchFunction", detail: "no function named foo"}, id: 7}
//	{info: {}}
//
// Calls with an id are answered as they finish, in any order; calls without
// one are answered in the order they came; noreply calls are not answered.
//
// Functions are registered with Server.Register, which works out once, by
// reflection, how to decode each argument into its Go parameter and how to
// read the results; functions of the commonest shapes (up to two int,
// int64, float64, string or bool parameters of one type, one such result
// and maybe an error) are then called without reflection. They run on the
// connection's loop, so a function that would block must hand its work to
// threads.DeferToThread and return the Deferred. Server.Dispatch and
// Server.AppendCall are the transport-independent entry points that other
// wire protocols (package rpc/mongowire) build on: AppendCall writes a
// result that is ready straight into the transport's answer, without a
// Deferred.
package rpc
