package interop

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// serverError is how the clients' scripts describe a command that failed.
type serverError struct {
	Name               string `json:"name"`
	IsMongoServerError bool   `json:"isMongoServerError"`
	Code               int    `json:"code"`
	CodeName           string `json:"codeName"`
	Message            string `json:"message"`
}

// TestNodeMongoDBDriver calls the demo functions with both major versions
// of the official Node.js driver: commands, an error and an unknown
// command as MongoServerError, the older find_one style, and what
// describes the server: no databases or collections of data, listCommands,
// serverStatus, dbStats.
func TestNodeMongoDBDriver(t *testing.T) {
	requireNode(t)
	for _, tt := range []struct{ pkg, major string }{
		{"mongodb6", "6."},
		{"mongodb7", "7."},
	} {
		t.Run(tt.pkg, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t) // its own, for serverStatus's counts
			stdout := runClient(t, nodeDir, []string{"TWIST_MONGO_URL=" + srv.mongoURL()}, "node", "mongodb.mjs", tt.pkg)
			var got struct {
				Driver        string                       `json:"driver"`
				Ping          map[string]any               `json:"ping"`
				Add           any                          `json:"add"`
				Echo          any                          `json:"echo"`
				Cummingsify   string                       `json:"cummingsify"`
				PoemFirstLine string                       `json:"poemFirstLine"`
				Concurrent    []any                        `json:"concurrent"`
				Error         serverError                  `json:"error"`
				Unknown       serverError                  `json:"unknown"`
				FindOne       map[string]any               `json:"findOne"`
				FindOneError  map[string]map[string]string `json:"findOneError"`
				ListDatabases []string                     `json:"listDatabases"`
				Collections   []string                     `json:"collections"`
				AddArity      any                          `json:"addArity"`
				AddCalls      any                          `json:"addCalls"`
				DBStatsColls  any                          `json:"dbStatsCollections"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v in the client's output:\n%s", err, stdout)
			}
			t.Logf("driver %s", got.Driver)
			if !strings.HasPrefix(got.Driver, tt.major) {
				t.Errorf("driver version %s, want %sx", got.Driver, tt.major)
			}
			checks := []struct {
				what      string
				got, want any
			}{
				{"ping", got.Ping, map[string]any{"ok": 1.0}},
				{"add", got.Add, 3.0},
				{"echo", got.Echo, map[string]any{"b": 1.0, "a": []any{"x", 2.5, true, nil}}},
				{"cummingsify", got.Cummingsify, "thou art more lovely"},
				{"poetry.get", got.PoemFirstLine, "Sonnet 18"},
				{"sleep and add at once", got.Concurrent, []any{nil, 42.0}},
				{"fail", got.Error, serverError{Name: "MongoServerError", IsMongoServerError: true, Code: 18803, CodeName: "HandlerError", Message: "rpcdemo: failed as asked: on purpose"}},
				{"an unknown command", got.Unknown, serverError{Name: "MongoServerError", IsMongoServerError: true, Code: 59, CodeName: "CommandNotFound", Message: "no such command: 'nosuch'"}},
				{"findOne of add", got.FindOne, map[string]any{"$result": 3.0}},
				{"findOne of fail", got.FindOneError, map[string]map[string]string{"$error": {"message": "HandlerError", "detail": "rpcdemo: failed as asked: on purpose"}}},
				{"listDatabases", got.ListDatabases, []string{}},
				{"listCollections", got.Collections, []string{}},
				{"listCommands: the arity of add", got.AddArity, 2.0},
				{"serverStatus: the calls of add (two commands, one concurrent, one findOne)", got.AddCalls, 3.0},
				{"dbStats: collections", got.DBStatsColls, 0.0},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
				}
			}
		})
	}
}
