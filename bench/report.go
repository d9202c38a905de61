package bench

import (
	"encoding/json"
	"io"
)

// HTTPResult is what cmd/httpbench -json prints for one server: the
// medians of its rounds.
type HTTPResult struct {
	Server string
	// RequestsPerSecond is wrk's rate, and CPUPerRequest the server
	// process's user and system CPU time per request, in nanoseconds
	// (both zero with -idle).
	RequestsPerSecond, CPUPerRequest float64
	// IdleConns is the number of idle keep-alive connections, and
	// RSSPerConn how much the server's resident set grew with them, in
	// bytes per connection (both zero without -idle).
	IdleConns  int
	RSSPerConn float64
}

// WriteJSON is the harnesses' -json output, for cmd/benchreport: results as
// one JSON document on w. If runErr, the run's error, is not nil it writes
// nothing and returns runErr.
func WriteJSON(w io.Writer, results any, runErr error) error {
	if runErr != nil {
		return runErr
	}
	return json.NewEncoder(w).Encode(results)
}
