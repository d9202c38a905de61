package interop

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// rpcError is how the twist-rpc script describes a call that failed.
type rpcError struct {
	IsRPCError bool   `json:"isRpcError"`
	Kind       string `json:"kind"`
	Detail     string `json:"detail"`
}

// TestNodeTwistRPC calls the demo functions with twist-rpc, the Node.js
// client of the framed protocol: plain calls, a hundred calls in flight at
// once with one answered last, a one-way call, errors as RpcError with
// their kind and detail, and info.
func TestNodeTwistRPC(t *testing.T) {
	requireNode(t)
	host, port := hostPort(t, startServer(t).framed)
	stdout := runClient(t, nodeDir, []string{"TWIST_RPC_HOST=" + host, "TWIST_RPC_PORT=" + port}, "node", "twistrpc.mjs")
	var got struct {
		Add           any      `json:"add"`
		Concurrent    []any    `json:"concurrent"`
		Noreply       any      `json:"noreply"`
		Echo          any      `json:"echo"`
		Cummingsify   string   `json:"cummingsify"`
		PoemFirstLine string   `json:"poemFirstLine"`
		Error         rpcError `json:"error"`
		Unknown       rpcError `json:"unknown"`
		BadArguments  rpcError `json:"badArguments"`
		Info          struct {
			Name      string `json:"name"`
			Functions []struct {
				Name  string `json:"name"`
				Arity int    `json:"arity"`
			} `json:"functions"`
		} `json:"info"`
		Pending int `json:"pending"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in the client's output:\n%s", err, stdout)
	}
	concurrent := []any{nil}
	for i := range 100 {
		concurrent = append(concurrent, float64(2*i))
	}
	arities := map[string]int{}
	for _, f := range got.Info.Functions {
		arities[f.Name] = f.Arity
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"add", got.Add, 3.0},
		{"sleep and a hundred adds at once", got.Concurrent, concurrent},
		{"a one-way add", got.Noreply, nil},
		{"echo", got.Echo, map[string]any{"b": 1.0, "a": []any{"x", 2.5, true, nil}}},
		{"cummingsify", got.Cummingsify, "thou art more lovely"},
		{"poetry.get", got.PoemFirstLine, "Sonnet 18"},
		{"fail", got.Error, rpcError{IsRPCError: true, Kind: "HandlerError", Detail: "rpcdemo: failed as asked: on purpose"}},
		{"an unknown function", got.Unknown, rpcError{IsRPCError: true, Kind: "NoSuchFunction", Detail: "no function named nosuch"}},
		{"a string for an int: the kind", got.BadArguments.Kind, "BadArguments"},
		{"info's name", got.Info.Name, "twist-interop"},
		{"info's functions and arities", arities, map[string]int{"add": 2, "cummingsify": 1, "echo": 1, "fail": 1, "poetry.get": 0, "sleep": 1}},
		{"calls pending at the end", got.Pending, 0},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

// TestNodeTwistRPCReadme runs the examples of twist-rpc's README against
// two real servers of the demo functions, on the ports the README names:
// the package's readme test does, checking what each example prints. Its
// dependency, bson, comes from the interop packages.
func TestNodeTwistRPCReadme(t *testing.T) {
	requireNode(t)
	modules, err := filepath.Abs(filepath.Join(nodeDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	_, a := hostPort(t, startServer(t).framed)
	_, b := hostPort(t, startServer(t).framed)
	env := []string{"NODE_PATH=" + modules, "TWIST_README_PORTS=9000=" + a + ",9001=" + b}
	out := runClient(t, clientDir, env, "node", "--test", "tests/readme.test.js")
	if !strings.Contains(out, "# fail 0") {
		t.Errorf("the README's examples failed:\n%s", out)
	}
}
