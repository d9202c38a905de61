package mongowire

import (
	"context"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/session"
)

// collectionName is the collection the older RPC style queries.
const collectionName = "rpc"

// queryFailure is the OP_REPLY responseFlags bit of a failed query.
const queryFailure = 1 << 1

// CodeNamespaceNotFound is MongoDB's code for an OP_QUERY on a collection
// other than <db>.rpc or <db>.$cmd (codeName NamespaceNotFound).
const CodeNamespaceNotFound = 26

// A builtin answers one command; name is the command's name, arg the value
// of its first key.
type builtin func(c *conn, req *request, name string, arg bson.RawValue)

// builtins are the commands drivers and mongosh send on their own. They take
// precedence over functions of the same name. (Set by init: listCommands
// reads it.)
var builtins map[string]builtin

func init() {
	builtins = map[string]builtin{
		"hello":            (*conn).hello,
		"isMaster":         (*conn).hello,
		"ismaster":         (*conn).hello,
		"ping":             (*conn).ok,
		"endSessions":      (*conn).ok,
		"buildInfo":        (*conn).buildInfo,
		"buildinfo":        (*conn).buildInfo,
		"getParameter":     (*conn).getParameter,
		"getLog":           (*conn).getLog,
		"listDatabases":    (*conn).listDatabases,
		"listCollections":  (*conn).listCollections,
		"aggregate":        (*conn).aggregate,
		"find":             (*conn).find,
		"listCommands":     (*conn).listCommands,
		"dbStats":          (*conn).dbStats,
		"dbstats":          (*conn).dbStats,
		"serverStatus":     (*conn).serverStatus,
		"connectionStatus": (*conn).connectionStatus,
	}
}

// serverVersion is the MongoDB version the server presents itself as.
const serverVersion = "7.0.0"

// okElement is the element ok: 1.0 of a reply, encoded once.
var okElement = bsoncore.AppendDoubleElement(nil, "ok", 1.0)

// okReply is the reply of a command that succeeds with nothing to say.
var okReply = bson.D{{Key: "ok", Value: 1.0}}

// ignore handles a failure nobody waits for.
func ignore(*deferred.Failure) (any, error) { return nil, nil }

// emptyArray is the argument list of a call without arguments.
var emptyArray = func() bson.RawArray {
	b, err := bson.Marshal(bson.D{})
	if err != nil {
		panic(err)
	}
	return bson.RawArray(b)
}()

// handle answers one request.
func (c *conn) handle(req *request) {
	if req.to.opCode == opQuery && !strings.HasSuffix(req.collection, ".$cmd") {
		c.query(req)
		return
	}
	key, first := req.top.key, req.top.first
	if key == nil {
		c.reply(req.to, 0, commandError("no command in an empty document", CodeCommandNotFound, "CommandNotFound"))
		return
	}
	if b, ok := builtins[string(key)]; ok {
		// A copy: what a builtin is given escapes, and the request of a
		// call, the common case, is better left on the stack.
		r := *req
		b(c, &r, string(key), first)
		return
	}
	c.call(req, c.funcName(key), first)
}

// funcName returns key as a string, the same string as the last call's
// when it names the same function: a connection calls a few functions
// over and over, and their names then cost no allocation.
func (c *conn) funcName(key []byte) string {
	if string(key) != c.lastFunc {
		c.lastFunc = string(key)
	}
	return c.lastFunc
}

// call calls a function: arg, the value of the command's first key, is the
// argument array, or the only argument if it is not an array. A call that
// fails with NoSuchFunction at once, before any function ran, names no
// registered function: it is an unknown command, CommandNotFound.
func (c *conn) call(req *request, name string, arg bson.RawValue) {
	to := req.to
	maxTime, err := req.top.callOptions(name)
	if err != nil {
		c.reply(to, 0, errorDoc(err))
		return
	}
	args, ok := arg.ArrayOK()
	if !ok {
		b, err := bson.Marshal(bson.D{{Key: "0", Value: arg}})
		if err != nil {
			c.reply(to, 0, errorDoc(&rpc.Error{Message: rpc.BadArguments, Detail: err.Error()}))
			return
		}
		args = bson.RawArray(b)
	}
	ctx, release := c.CallContext(maxTime)
	var d *deferred.Deferred
	if a, ok := c.s.d.(appendCaller); ok {
		if d = c.appendCall(a, ctx, to, name, args); d == nil {
			release()
			return
		}
	} else {
		d = c.s.d.Dispatch(ctx, c.Clock(), name, args)
		if _, err := d.Result(); d.Called() && errors.Is(err, rpc.ErrNoSuchFunction) {
			release()
			d.AddErrback(ignore)
			c.commandNotFound(to, name)
			return
		}
	}
	c.Await(d, false, func(r any) []byte {
		release()
		if to.moreToCome {
			return nil
		}
		if f, ok := r.(*deferred.Failure); ok {
			return c.encode(to, 0, errorDoc(f))
		}
		return c.encode(to, 0, bson.D{{Key: "reply", Value: r}, {Key: "ok", Value: 1.0}})
	})
}

// appendCaller is a Dispatcher that can also append a result that is ready
// at once straight into the reply, with no Deferred: *rpc.Server is one
// (see its AppendCall).
type appendCaller interface {
	AppendCall(dst []byte, ctx context.Context, clk clock.Clock, key, name string, args bson.RawArray) ([]byte, *deferred.Deferred, error)
}

// appendCall calls the function name through a and, if its result is ready,
// answers at once with {reply: result, ok: 1.0}, the result appended where
// it belongs in the reply message. It returns the Deferred of a call that
// answers later, and nil once it has answered.
func (c *conn) appendCall(a appendCaller, ctx context.Context, to replyTo, name string, args bson.RawArray) *deferred.Deferred {
	b := appendReplyPrefix(c.buf[:0], 0, to, 0)
	start := len(b)
	idx, b := bsoncore.AppendDocumentStart(b)
	b, d, err := a.AppendCall(b, ctx, c.Clock(), "reply", name, args)
	c.buf = session.Trim(b)
	switch {
	case d != nil:
		return d
	case errors.Is(err, rpc.ErrNoSuchFunction):
		c.commandNotFound(to, name)
	case err != nil:
		c.reply(to, 0, errorDoc(err))
	default:
		b = append(b, okElement...)
		b, _ = bsoncore.AppendDocumentEnd(b, idx)
		c.buf = session.Trim(b)
		if len(b)-start > maxBSONObjectSize {
			c.reply(to, 0, errorDoc(errReplyTooLarge))
			return nil
		}
		c.send(to, b)
	}
	return nil
}

func (c *conn) commandNotFound(to replyTo, name string) {
	c.reply(to, 0, commandError("no such command: '"+session.Bound(name)+"'", CodeCommandNotFound, "CommandNotFound"))
}

// oldStyleCall calls the function that filter, {funcname: name, argstr:
// [args, kwargs]}, names, and returns a Deferred that fires with the
// document of the older RPC style: {$result: value} or {$error: {message,
// detail}}. It never fails. Keyword arguments must be empty, as functions
// take positional arguments only; argstr may be left out, or hold the
// positional arguments alone.
func (c *conn) oldStyleCall(filter bson.Raw) *deferred.Deferred {
	name, args, err := oldStyleArgs(filter)
	if err != nil {
		return deferred.Succeed(oldStyleError(err))
	}
	return c.s.d.Dispatch(c.Context(), c.Clock(), name, args).AddCallbacks(func(v any) (any, error) {
		return bson.D{{Key: "$result", Value: v}}, nil
	}, func(f *deferred.Failure) (any, error) {
		return oldStyleError(f), nil
	})
}

// oldStyleArgs reads the function name and positional arguments of an
// older-style query.
func oldStyleArgs(filter bson.Raw) (string, bson.RawArray, error) {
	bad := func(detail string) (string, bson.RawArray, error) {
		return "", nil, &rpc.Error{Message: rpc.BadArguments, Detail: detail}
	}
	name, ok := filter.Lookup("funcname").StringValueOK()
	if !ok {
		return bad("the query has no funcname string")
	}
	v, err := filter.LookupErr("argstr")
	if err != nil {
		return name, emptyArray, nil
	}
	argstr, ok := v.ArrayOK()
	if !ok {
		return bad("argstr is not an array [args, kwargs]")
	}
	vals, err := argstr.Values()
	if err != nil || len(vals) > 2 {
		return bad("argstr is not an array [args, kwargs]")
	}
	args := emptyArray
	if len(vals) > 0 {
		if args, ok = vals[0].ArrayOK(); !ok {
			return bad("the positional arguments are not an array")
		}
	}
	if len(vals) == 2 {
		kwargs, ok := vals[1].DocumentOK()
		if !ok {
			return bad("the keyword arguments are not a document")
		}
		if _, err := kwargs.IndexErr(0); err == nil {
			return bad("keyword arguments are not supported")
		}
	}
	return name, args, nil
}

// query answers an OP_QUERY on a collection: <db>.rpc is the older RPC
// style; any other collection does not exist.
func (c *conn) query(req *request) {
	to := req.to
	if _, coll, _ := strings.Cut(req.collection, "."); coll != collectionName {
		c.reply(to, queryFailure, bson.D{
			{Key: "$err", Value: "no collection " + req.collection + ": functions are called through <db>." + collectionName},
			{Key: "code", Value: int32(CodeNamespaceNotFound)},
		})
		return
	}
	c.Await(c.oldStyleCall(req.cmd), false, func(doc any) []byte { return c.encode(to, 0, doc) })
}

// database returns the database a command is for: its $db, or the database
// of an OP_QUERY's collection.
func (req *request) database() string {
	if req.to.opCode == opQuery {
		db, _, _ := strings.Cut(req.collection, ".")
		return db
	}
	if db, ok := req.cmd.Lookup("$db").StringValueOK(); ok {
		return db
	}
	return "test"
}

// hello answers the handshake, hello or isMaster, as a standalone writable
// server without compression or streaming monitoring, in the shape all
// current drivers accept.
func (c *conn) hello(req *request, name string, _ bson.RawValue) {
	primary := "ismaster"
	if name == "hello" {
		primary = "isWritablePrimary"
	}
	d := make(bson.D, 0, 13)
	d = append(d, bson.E{Key: primary, Value: true})
	if helloOk, _ := req.cmd.Lookup("helloOk").BooleanOK(); helloOk {
		d = append(d, bson.E{Key: "helloOk", Value: true})
	}
	d = append(d,
		bson.E{Key: "maxBsonObjectSize", Value: int32(maxBSONObjectSize)},
		bson.E{Key: "maxMessageSizeBytes", Value: c.s.maxMessageSize},
		bson.E{Key: "maxWriteBatchSize", Value: int32(100_000)},
		bson.E{Key: "localTime", Value: bson.NewDateTimeFromTime(c.s.now())},
		bson.E{Key: "logicalSessionTimeoutMinutes", Value: int32(30)},
		bson.E{Key: "connectionId", Value: c.id},
		bson.E{Key: "minWireVersion", Value: int32(0)},
		bson.E{Key: "maxWireVersion", Value: int32(21)},
		bson.E{Key: "readOnly", Value: false},
		bson.E{Key: "ok", Value: 1.0},
	)
	c.reply(req.to, 0, d)
}

// ok answers ping and endSessions: sessions cost nothing here.
func (c *conn) ok(req *request, _ string, _ bson.RawValue) { c.reply(req.to, 0, okReply) }

// buildInfo describes the server as a MongoDB 7.0.0, which mongosh shows in
// its banner.
func (c *conn) buildInfo(req *request, _ string, _ bson.RawValue) {
	c.reply(req.to, 0, bson.D{
		{Key: "version", Value: serverVersion},
		{Key: "versionArray", Value: bson.A{int32(7), int32(0), int32(0), int32(0)}},
		{Key: "gitVersion", Value: "twist"},
		{Key: "modules", Value: bson.A{}},
		{Key: "bits", Value: int32(64)},
		{Key: "debug", Value: false},
		{Key: "maxBsonObjectSize", Value: int32(maxBSONObjectSize)},
		{Key: "buildEnvironment", Value: bson.D{}},
		{Key: "ok", Value: 1.0},
	})
}

// getParameter knows one parameter, featureCompatibilityVersion; "*" asks
// for all of them.
func (c *conn) getParameter(req *request, _ string, arg bson.RawValue) {
	fcv := bson.E{Key: "featureCompatibilityVersion", Value: bson.D{{Key: "version", Value: "7.0"}}}
	all, _ := arg.StringValueOK()
	if all == "*" || req.cmd.Lookup(fcv.Key).Type != 0 {
		c.reply(req.to, 0, bson.D{fcv, {Key: "ok", Value: 1.0}})
		return
	}
	c.reply(req.to, 0, commandError("no option found to get", CodeInvalidOptions, "InvalidOptions"))
}

// getLog has one log, startupWarnings, which is empty; "*" lists it.
func (c *conn) getLog(req *request, _ string, arg bson.RawValue) {
	if name, _ := arg.StringValueOK(); name == "*" {
		c.reply(req.to, 0, bson.D{{Key: "names", Value: bson.A{"startupWarnings"}}, {Key: "ok", Value: 1.0}})
		return
	}
	c.reply(req.to, 0, bson.D{
		{Key: "totalLinesWritten", Value: int32(0)},
		{Key: "log", Value: bson.A{}},
		{Key: "ok", Value: 1.0},
	})
}

// listDatabases lists no database, for mongosh's show dbs: the server
// holds no data, and its functions are commands of any database.
func (c *conn) listDatabases(req *request, _ string, _ bson.RawValue) {
	c.reply(req.to, 0, bson.D{
		{Key: "databases", Value: bson.A{}},
		{Key: "totalSize", Value: int64(0)},
		{Key: "totalSizeMb", Value: int64(0)},
		{Key: "ok", Value: 1.0},
	})
}

// listCollections lists no collection, for mongosh's show collections:
// <db>.rpc, through which older clients call functions, holds no
// documents.
func (c *conn) listCollections(req *request, _ string, _ bson.RawValue) {
	c.reply(req.to, 0, cursorReply(req.database()+".$cmd.listCollections", bson.A{}))
}

// aggregate answers every pipeline, mongosh's on admin.atlascli among them,
// with no documents.
func (c *conn) aggregate(req *request, _ string, arg bson.RawValue) {
	ns := req.database() + ".$cmd.aggregate"
	if coll, ok := arg.StringValueOK(); ok {
		ns = req.database() + "." + coll
	}
	c.reply(req.to, 0, cursorReply(ns, bson.A{}))
}

// find on the collection rpc is the older RPC style, as current drivers
// send it (pymongo's find_one): its filter names the function and its
// arguments, and the one document of the batch is the result. Any other
// collection is empty.
func (c *conn) find(req *request, _ string, arg bson.RawValue) {
	to := req.to
	coll, _ := arg.StringValueOK()
	ns := req.database() + "." + coll
	if coll != collectionName {
		c.reply(to, 0, cursorReply(ns, bson.A{}))
		return
	}
	filter, _ := req.cmd.Lookup("filter").DocumentOK()
	// A pending call like any other: counted toward the cap, cancelled
	// with the connection.
	c.Await(c.oldStyleCall(filter), false, func(doc any) []byte {
		if to.moreToCome {
			return nil
		}
		return c.encode(to, 0, cursorReply(ns, bson.A{doc}))
	})
}

// cursorReply is the reply of a command that returns a cursor: the whole
// result in the first batch, and cursor id 0 to say there is no more.
func cursorReply(ns string, batch bson.A) bson.D {
	return bson.D{
		{Key: "cursor", Value: bson.D{
			{Key: "id", Value: int64(0)},
			{Key: "ns", Value: ns},
			{Key: "firstBatch", Value: batch},
		}},
		{Key: "ok", Value: 1.0},
	}
}
