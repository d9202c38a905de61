package metrics

import "github.com/twistgo/twist/rpc"

// Function is one RPC function's entry of a Snapshot (rpc.FunctionStats).
type Function struct {
	// Server is the name the server was added under, Name the function's.
	Server string `json:"server"`
	Name   string `json:"name"`
	Calls  uint64 `json:"calls"`
	// Errors counts the failed calls by kind: BadArguments, HandlerError,
	// Timeout, Cancelled (the connection was lost), Other.
	Errors   map[string]uint64 `json:"errors"`
	InFlight int64             `json:"in_flight"`
	// Latency is estimated for the calls answered at once: see
	// rpc.FunctionStats.
	Latency Latency `json:"latency"`
}

// Server is an RPC server's entry of a Snapshot: what it counts apart
// from its functions.
type Server struct {
	Name string `json:"name"`
	// UnknownCalls counts the calls of no registered function.
	UnknownCalls uint64 `json:"unknown_calls"`
	// UnsentAnswers counts the answers whose connection was reset or
	// shut before they could be written.
	UnsentAnswers uint64 `json:"unsent_answers"`
}

// readServers reads the function counters of every server.
func readServers(servers []named[*rpc.Server]) ([]Server, []Function) {
	out := make([]Function, 0)
	srv := make([]Server, 0, len(servers))
	for _, s := range servers {
		srv = append(srv, Server{Name: s.name, UnknownCalls: s.v.UnknownCalls(), UnsentAnswers: s.v.UnsentAnswers()})
		for _, f := range s.v.Stats() {
			out = append(out, Function{
				Server: s.name, Name: f.Name, Calls: f.Calls,
				Errors: f.Errors, InFlight: f.InFlight, Latency: summarise(&f.Latency),
			})
		}
	}
	return srv, out
}
