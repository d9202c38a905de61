package interop

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// python is Debian's interpreter, which has the python3-pymongo and
// python3-twisted packages; the python3 on PATH may be another without
// them.
const python = "/usr/bin/python3"

// requirePython skips the test unless python imports every module, naming
// the Debian package that would provide a missing one.
func requirePython(t *testing.T, modules map[string]string) {
	t.Helper()
	for module, pkg := range modules {
		ctx, cancel := context.WithTimeout(context.Background(), clientLimit)
		out, err := exec.CommandContext(ctx, python, "-c", "import "+module).CombinedOutput()
		cancel()
		if err != nil {
			t.Skipf("%s cannot import %s (apt-get install %s): %v %s", python, module, pkg, err, strings.TrimSpace(string(out)))
		}
	}
}

// TestPymongo calls the demo functions with pymongo: commands through
// Database.command, errors as OperationFailure, and the older style with
// find_one, whose keyword arguments the server refuses.
func TestPymongo(t *testing.T) {
	requirePython(t, map[string]string{"pymongo": "python3-pymongo"})
	host, port := hostPort(t, startServer(t).mongo)
	stdout := runClient(t, "python", nil, python, "pymongo_client.py", host, port)
	var got struct {
		Pymongo         string         `json:"pymongo"`
		Ping            map[string]any `json:"ping"`
		Add             any            `json:"add"`
		Echo            any            `json:"echo"`
		Cummingsify     string         `json:"cummingsify"`
		Error           map[string]any `json:"error"`
		Unknown         map[string]any `json:"unknown"`
		FindOne         map[string]any `json:"findOne"`
		FindOneError    map[string]any `json:"findOneError"`
		FindOneKeywords map[string]any `json:"findOneKeywords"`
		Databases       []string       `json:"databases"`
		Collections     []string       `json:"collections"`
		AddArity        any            `json:"addArity"`
		Status          map[string]any `json:"status"`
		ConnStatus      map[string]any `json:"connectionStatus"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in the client's output:\n%s", err, stdout)
	}
	t.Logf("pymongo %s", got.Pymongo)
	badKeywords, _ := got.FindOneKeywords["$error"].(map[string]any)
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"ping", got.Ping, map[string]any{"ok": 1.0}},
		{"add", got.Add, 3.0},
		{"echo", got.Echo, map[string]any{"b": 1.0, "a": []any{"x", 2.5, true, nil}}},
		{"cummingsify", got.Cummingsify, "thou art more lovely"},
		{"fail", got.Error, map[string]any{"type": "OperationFailure", "code": 18803.0, "codeName": "HandlerError", "errmsg": "rpcdemo: failed as asked: on purpose"}},
		{"an unknown command", got.Unknown, map[string]any{"type": "OperationFailure", "code": 59.0, "codeName": "CommandNotFound", "errmsg": "no such command: 'nosuch'"}},
		{"find_one of add", got.FindOne, map[string]any{"$result": 3.0}},
		{"find_one of fail", got.FindOneError, map[string]any{"$error": map[string]any{"message": "HandlerError", "detail": "rpcdemo: failed as asked: on purpose"}}},
		{"find_one with keyword arguments", badKeywords["message"], "BadArguments"},
		{"list_database_names", got.Databases, []string{}},
		{"list_collection_names", got.Collections, []string{}},
		{"listCommands: the arity of add", got.AddArity, 2.0},
		{"serverStatus: the calls of add (a command and a find_one; the one with keywords is refused before)", got.Status, map[string]any{"calls": 2.0}},
		{"connectionStatus", got.ConnStatus, map[string]any{"authenticatedUsers": []any{}, "authenticatedUserRoles": []any{}}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

// TestTwistedClient calls the demo functions over the framed protocol from
// Python Twisted: Int32StringReceiver frames the BSON documents, several
// calls with ids are in flight at once, errors come back as error
// messages, and the info request lists the functions.
func TestTwistedClient(t *testing.T) {
	requirePython(t, map[string]string{"twisted": "python3-twisted", "bson": "python3-pymongo"})
	host, port := hostPort(t, startServer(t).framed)
	stdout := runClient(t, "python", nil, python, "twisted_client.py", host, port)
	var got struct {
		Answers map[string]map[string]any `json:"answers"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in the client's output:\n%s", err, stdout)
	}
	info := got.Answers["info"]
	delete(got.Answers, "info")
	errorOf := func(kind, detail string) map[string]any {
		return map[string]any{"error": map[string]any{"message": kind, "detail": detail}}
	}
	badArgs := got.Answers["7"]["error"]
	if e, ok := badArgs.(map[string]any); ok {
		delete(got.Answers, "7")
		if e["message"] != "BadArguments" {
			t.Errorf("add(1, %q) answered %v, want a BadArguments error", "2", e)
		}
	}
	want := map[string]map[string]any{
		"1": {"reply": 3.0},
		"2": {"reply": nil},
		"3": {"reply": map[string]any{"b": 1.0, "a": []any{"x", 2.5, true, nil}}},
		"4": {"reply": "thou art more lovely"},
		"5": errorOf("HandlerError", "rpcdemo: failed as asked: on purpose"),
		"6": errorOf("NoSuchFunction", "no function named nosuch"),
	}
	if !reflect.DeepEqual(got.Answers, want) {
		t.Errorf("answers by id:\n%v\nwant:\n%v", got.Answers, want)
	}
	var names []string
	functions, _ := info["functions"].([]any)
	for _, f := range functions {
		name, _ := f.(map[string]any)["name"].(string)
		names = append(names, name)
	}
	if info["name"] != "twist-interop" || !reflect.DeepEqual(names, []string{"add", "cummingsify", "echo", "fail", "poetry.get", "sleep"}) {
		t.Errorf("info %v, want the name twist-interop and the demo functions", info)
	}
}
