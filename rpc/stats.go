package rpc

import (
	"slices"
	"strings"
	"sync/atomic"
)

// FunctionStats is what a Server counts of one of its functions.
type FunctionStats struct {
	// Name is the name the function is registered under.
	Name string
	// Calls is how many calls named it since it was registered, over every
	// protocol, those that failed included.
	Calls uint64
}

// callCounter counts the calls of one function. Dispatch and AppendCall
// count each call, from every loop, with one atomic add.
type callCounter struct{ n atomic.Uint64 }

func (c *callCounter) count() { c.n.Add(1) }

// Stats returns the call counters of the registered functions, sorted by
// name. It may be called from any goroutine.
func (s *Server) Stats() []FunctionStats {
	out := make([]FunctionStats, 0, len(s.funcs))
	for name, f := range s.funcs {
		out = append(out, FunctionStats{Name: name, Calls: f.calls.n.Load()})
	}
	slices.SortFunc(out, func(a, b FunctionStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}
