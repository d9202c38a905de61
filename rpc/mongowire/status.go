package mongowire

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
)

// The commands that describe the server to people, in mongosh: what it
// offers (listCommands), how it does (serverStatus, dbStats) and who is
// connected (connectionStatus). The server holds no data: its databases
// and collections are empty, and the functions are commands, not
// documents.

// serverStats is what a Server counts of its connections.
type serverStats struct {
	started time.Time
	current atomic.Int64
}

// opened and closed count a connection made and lost.
func (st *serverStats) opened() { st.current.Add(1) }
func (st *serverStats) closed() { st.current.Add(-1) }

// A describer is a Dispatcher that describes its functions: *rpc.Server is
// one.
type describer interface{ Info() rpc.Info }

// A counter is a Dispatcher that counts the calls of its functions:
// *rpc.Server is one.
type counter interface{ Stats() []rpc.FunctionStats }

// commandInfo is listCommands' entry of a built-in command.
func commandInfo(help string) bson.D {
	return bson.D{
		{Key: "help", Value: help},
		{Key: "adminOnly", Value: false},
		{Key: "secondaryOk", Value: true},
		{Key: "requiresAuth", Value: false},
	}
}

// builtinHelp is listCommands' help of each built-in command, by name;
// the aliases of a command (isMaster, buildinfo) are not listed.
var builtinHelp = map[string]string{
	"hello":            "describes the server: a standalone MongoDB 7.0 that answers functions as commands",
	"ping":             "answers ok",
	"endSessions":      "answers ok: sessions hold nothing here",
	"buildInfo":        "the version the server presents itself as",
	"getParameter":     "featureCompatibilityVersion only",
	"getLog":           "startupWarnings only, always empty",
	"listDatabases":    "none: the server holds no data",
	"listCollections":  "none: the server holds no data",
	"aggregate":        "answers every pipeline with no documents",
	"find":             "on the collection rpc, calls a function the older way: {funcname, argstr: [args, {}]}",
	"listCommands":     "lists the built-in commands and the functions, with their arity",
	"dbStats":          "an empty database, and how many functions there are",
	"serverStatus":     "uptime, connections and the calls of each function",
	"connectionStatus": "no authentication: nobody is authenticated",
}

// listCommands lists the built-in commands and the functions: a function's
// entry gives its arity and the types of its parameters.
func (c *conn) listCommands(req *request, _ string, _ bson.RawValue) {
	cmds := bson.D{}
	for name, help := range builtinHelp {
		cmds = append(cmds, bson.E{Key: name, Value: commandInfo(help)})
	}
	if d, ok := c.s.d.(describer); ok {
		for _, f := range d.Info().Functions {
			if _, builtin := builtins[f.Name]; builtin {
				continue // not callable as a command
			}
			help := "function of " + strconv.Itoa(f.Arity) + " argument"
			if f.Arity != 1 {
				help += "s"
			}
			entry := append(commandInfo(help),
				bson.E{Key: "arity", Value: int32(f.Arity)},
				bson.E{Key: "params", Value: f.Params},
			)
			cmds = append(cmds, bson.E{Key: f.Name, Value: entry})
		}
	}
	slices.SortFunc(cmds, func(a, b bson.E) int { return strings.Compare(a.Key, b.Key) })
	c.reply(req.to, 0, bson.D{{Key: "commands", Value: cmds}, {Key: "ok", Value: 1.0}})
}

// dbStats describes every database as empty, as they are, and counts the
// functions.
func (c *conn) dbStats(req *request, _ string, _ bson.RawValue) {
	functions := 0
	if d, ok := c.s.d.(describer); ok {
		functions = len(d.Info().Functions)
	}
	c.reply(req.to, 0, bson.D{
		{Key: "db", Value: req.database()},
		{Key: "collections", Value: int32(0)},
		{Key: "views", Value: int32(0)},
		{Key: "objects", Value: int64(0)},
		{Key: "avgObjSize", Value: 0.0},
		{Key: "dataSize", Value: 0.0},
		{Key: "storageSize", Value: 0.0},
		{Key: "indexes", Value: int32(0)},
		{Key: "indexSize", Value: 0.0},
		{Key: "totalSize", Value: 0.0},
		{Key: "scaleFactor", Value: int32(1)},
		{Key: "functions", Value: int32(functions)},
		{Key: "ok", Value: 1.0},
	})
}

// unsent is how many answers could not be written to a reset or shut
// connection, counted by the rpc.Server's group (0 without one).
func (s *Server) unsent() uint64 {
	if s.group == nil {
		return 0
	}
	return s.group.Unsent()
}

// serverStatus reports the uptime, the connections and, under rpc, the
// calls of each function and the answers that could not be sent.
func (c *conn) serverStatus(req *request, _ string, _ bson.RawValue) {
	now := c.s.now()
	up := now.Sub(c.s.stats.started)
	host, _ := os.Hostname()
	calls := bson.D{}
	if n, ok := c.s.d.(counter); ok {
		for _, f := range n.Stats() {
			calls = append(calls, bson.E{Key: f.Name, Value: bson.D{{Key: "calls", Value: int64(f.Calls)}}})
		}
	}
	c.reply(req.to, 0, bson.D{
		{Key: "host", Value: host},
		{Key: "version", Value: serverVersion},
		{Key: "process", Value: "twist"},
		{Key: "pid", Value: int64(os.Getpid())},
		{Key: "uptime", Value: up.Seconds()},
		{Key: "uptimeMillis", Value: up.Milliseconds()},
		{Key: "uptimeEstimate", Value: int64(up.Seconds())},
		{Key: "localTime", Value: bson.NewDateTimeFromTime(now)},
		{Key: "connections", Value: bson.D{
			{Key: "current", Value: int32(c.s.stats.current.Load())},
			{Key: "totalCreated", Value: int64(c.s.lastConnID.Load())},
		}},
		{Key: "rpc", Value: bson.D{{Key: "functions", Value: calls}, {Key: "unsentAnswers", Value: int64(c.s.unsent())}}},
		{Key: "ok", Value: 1.0},
	})
}

// connectionStatus says that nobody is authenticated: the server has no
// users.
func (c *conn) connectionStatus(req *request, _ string, _ bson.RawValue) {
	c.reply(req.to, 0, bson.D{
		{Key: "authInfo", Value: bson.D{
			{Key: "authenticatedUsers", Value: bson.A{}},
			{Key: "authenticatedUserRoles", Value: bson.A{}},
		}},
		{Key: "ok", Value: 1.0},
	})
}
