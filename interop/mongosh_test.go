package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMongosh runs the MongoDB shell against the server: its start-up
// (the handshake, buildInfo and the other commands it sends on its own),
// calls whose replies it prints, the older find style, the database list,
// an unknown command, what describes the server (listCommands,
// serverStatus, dbStats, connectionStatus, no databases or collections of
// data), a call with a field it does not take, and a failing call as the
// script's result, which mongosh shows as
// MongoServerError[codeName]: errmsg.
func TestMongosh(t *testing.T) {
	requireNode(t)
	srv := startServer(t)
	// mongosh keeps its configuration, history and logs under HOME; it
	// sends no telemetry when its configuration says so.
	home := t.TempDir()
	config := filepath.Join(home, ".mongodb", "mongosh", "config")
	if err := os.MkdirAll(filepath.Dir(config), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(`{"enableTelemetry":false}`), 0o600); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		// The version comes from buildInfo, as in mongosh's banner.
		`print(db.version())`,
		`print(db.runCommand({add: [1, 2]}).reply)`,
		`print(db.getSiblingDB("rpc").rpc.findOne({funcname: "add", argstr: [[40, 2], {}]})["$result"])`,
		`print(db.adminCommand({listDatabases: 1}).databases.length, db.getCollectionNames().length)`,
		`try { db.runCommand({nosuch: []}) } catch (e) { print(e.name, e.code, e.codeName) }`,
		`print(db.runCommand({listCommands: 1}).commands.add.arity)`,
		`const st = db.serverStatus(); print(Number(st.rpc.functions.add.calls), st.connections.current >= 1, st.uptime >= 0)`,
		`print(db.stats().collections, db.stats().functions > 0)`,
		`print(db.runCommand({connectionStatus: 1}).authInfo.authenticatedUsers.length)`,
		`try { db.runCommand({add: [1], b: 2}) } catch (e) { print(e.codeName, e.message) }`,
		`try { db.runCommand({fail: ["on purpose"]}) } catch (e) { e }`,
	}, "\n")
	stdout := runClient(t, nodeDir, []string{"HOME=" + home},
		filepath.Join("node_modules", ".bin", "mongosh"), srv.mongoURL(), "--quiet", "--eval", script)
	want := strings.Join([]string{
		"7.0.0",
		"3",
		"42",
		"0 0",
		"MongoServerError 59 CommandNotFound",
		"2",
		"2 true true",
		"0 true",
		"0",
		`BadMessage unknown field "b" in a call of add: a call takes its arguments and the generic command fields only`,
		"MongoServerError[HandlerError]: rpcdemo: failed as asked: on purpose",
	}, "\n") + "\n"
	// mongosh starts an error's line with a carriage return, for the REPL.
	if got := strings.ReplaceAll(stdout, "\r", ""); got != want {
		t.Errorf("mongosh printed:\n%s\nwant:\n%s", got, want)
	}
}
