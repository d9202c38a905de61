// Package mongowire serves RPC functions over the MongoDB wire protocol, so
// that stock MongoDB drivers and mongosh are clients.
//
// A Server is an internet.Factory: listen with it, and each connection
// answers what drivers send on their own — the handshake (hello, isMaster,
// ismaster, over OP_QUERY or OP_MSG), ping, buildInfo, endSessions,
// getParameter, getLog, listDatabases, listCollections and aggregate — as a
// standalone MongoDB 7.0 would, and what people ask in mongosh:
// listCommands lists the functions with their arity and parameter types,
// serverStatus gives the uptime, the connections and the calls of each
// function (under rpc.functions), dbStats and connectionStatus answer too.
// The server holds no data: show dbs and show collections list nothing.
// It treats any other command whose name is a registered function as a
// call:
//
//	db.runCommand({add: [1, 2]})   ->  {reply: 3, ok: 1}
//
// The value of the command's first key is the argument array; a value that
// is not an array is the only argument. The fields MongoDB takes with any
// command ($db, lsid, maxTimeMS, $readPreference, apiVersion, comment, ...)
// are taken; any other field is a BadMessage error, rather than an
// argument silently dropped. A built-in command takes
// precedence over a function of the same name. Errors come back as
// {ok: 0, errmsg, code, codeName}: an unknown command is CommandNotFound
// (59), a call past its maxTimeMS is MaxTimeMSExpired (50), and every other
// RPC error has its kind as codeName with the fixed code listed with the
// Code constants, none of which makes a driver retry or drop its
// connections.
//
// The older RPC style is served too: a find on the collection <db>.rpc whose
// filter is {funcname: "add", argstr: [[1, 2], {}]} is answered with the
// document {$result: 3}, or {$error: {message: kind, detail}}, both as an
// OP_QUERY (old drivers; the reply is an OP_REPLY) and as the find command
// of current drivers (pymongo's find_one; the reply is a cursor whose first
// batch is that document). Functions take positional arguments only, so
// non-empty keyword arguments are a BadArguments error.
//
// Calls may run asynchronously: the Dispatcher (an *rpc.Server) answers a
// call at once or returns a Deferred, and replies to OP_MSG requests go out
// as their results are ready, possibly out of order, each with its
// responseTo. With an *rpc.Server, a result that is ready at once is
// appended straight into the reply (see rpc.Server.AppendCall). A request flagged moreToCome is run and gets no
// reply. Replies never carry a checksum or kind-1 sections, and compression
// is never advertised.
//
// Every length read from the wire is checked against the maximum message
// size (DefaultMaxMessageSize unless WithMaxMessageSize says otherwise). A
// message that is too long, shorter than a header, or malformed — an unknown
// opcode or section kind, unknown required flag bits, a bad checksum — closes
// its connection, with the reason logged through log/slog; other connections
// go on.
package mongowire
