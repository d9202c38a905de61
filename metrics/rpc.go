package metrics

import "github.com/twistgo/twist/rpc"

// Function is one RPC function's entry of a Snapshot (rpc.FunctionStats).
type Function struct {
	// Server is the name the server was added under, Name the function's.
	Server string `json:"server"`
	Name   string `json:"name"`
	Calls  uint64 `json:"calls"`
}

// readServers reads the function counters of every server.
func readServers(servers []named[*rpc.Server]) []Function {
	var out []Function
	for _, s := range servers {
		for _, f := range s.v.Stats() {
			out = append(out, Function{Server: s.name, Name: f.Name, Calls: f.Calls})
		}
	}
	return out
}
