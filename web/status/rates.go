package status

import (
	"time"

	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/metrics/latency"
)

// Rates are what changed between two samples, per second of the interval
// between them, and the quantiles of the latencies observed in it. The
// snapshot's counters and quantiles are cumulative since the start; these
// are the recent figures the page shows and charts.
type Rates struct {
	// Seconds is the interval the rates are over; 0 for the first sample.
	Seconds float64 `json:"seconds"`
	// Loops are by loop name.
	Loops map[string]LoopRates `json:"loops"`
	// RPC are by "server/function".
	RPC map[string]RPCRates `json:"rpc"`
}

// LoopRates are a loop's recent figures.
type LoopRates struct {
	Iterations  float64 `json:"iterations"`
	Events      float64 `json:"events"`
	PostedCalls float64 `json:"posted_calls"`
	TimersRun   float64 `json:"timers_run"`
	// BusyFraction is the part of the interval the loop spent outside the
	// poller's wait.
	BusyFraction float64 `json:"busy_fraction"`
	// LagP50 and LagP99 are the quantiles of the lag of the timers run in
	// the interval, in seconds.
	LagP50 float64 `json:"lag_p50_seconds"`
	LagP99 float64 `json:"lag_p99_seconds"`
}

// RPCRates are an RPC function's recent figures.
type RPCRates struct {
	Calls float64 `json:"calls"`
}

// RPCKey is the key of a function in Rates.RPC.
func RPCKey(f *metrics.Function) string { return f.Server + "/" + f.Name }

// rates returns the rates from prev to cur, all zero without prev. A
// counter that went down (a loop replaced under the same name) rates 0.
func rates(prev, cur *metrics.Snapshot) Rates {
	r := Rates{Loops: make(map[string]LoopRates, len(cur.Loops)), RPC: make(map[string]RPCRates, len(cur.RPC))}
	if prev != nil && cur.Time.After(prev.Time) {
		r.Seconds = cur.Time.Sub(prev.Time).Seconds()
	}
	per := func(a, b uint64) float64 {
		if r.Seconds == 0 || b < a {
			return 0
		}
		return float64(b-a) / r.Seconds
	}
	var oldLoops map[string]*metrics.Loop
	var oldRPC map[string]*metrics.Function
	if prev != nil {
		oldLoops = byName(prev.Loops, func(l *metrics.Loop) string { return l.Name })
		oldRPC = byName(prev.RPC, RPCKey)
	}
	for i := range cur.Loops {
		l := &cur.Loops[i]
		old, ok := oldLoops[l.Name]
		if !ok {
			old = &metrics.Loop{}
		}
		lr := LoopRates{
			Iterations:  per(old.Iterations, l.Iterations),
			Events:      per(old.Events, l.Events),
			PostedCalls: per(old.PostedCalls, l.PostedCalls),
			TimersRun:   per(old.TimersRun, l.TimersRun),
		}
		if up := l.Uptime - old.Uptime; ok && up > 0 && l.Busy >= old.Busy {
			lr.BusyFraction = min(1, (l.Busy-old.Busy)/up)
		}
		if ok {
			window := counts(&l.Lag)
			before := counts(&old.Lag)
			if window.Count() >= before.Count() {
				window = window.Sub(&before)
				lr.LagP50 = window.Quantile(0.5).Seconds()
				lr.LagP99 = window.Quantile(0.99).Seconds()
			}
		}
		r.Loops[l.Name] = lr
	}
	for i := range cur.RPC {
		f := &cur.RPC[i]
		var calls uint64
		if old, ok := oldRPC[RPCKey(f)]; ok {
			calls = old.Calls
		}
		r.RPC[RPCKey(f)] = RPCRates{Calls: per(calls, f.Calls)}
	}
	return r
}

func byName[T any](xs []T, key func(*T) string) map[string]*T {
	m := make(map[string]*T, len(xs))
	for i := range xs {
		m[key(&xs[i])] = &xs[i]
	}
	return m
}

// counts turns a snapshot's histogram back into latency.Counts, to
// subtract and take quantiles of.
func counts(l *metrics.Latency) latency.Counts {
	c := latency.Counts{Max: time.Duration(l.Max * float64(time.Second))}
	copy(c.Buckets[:], l.Buckets)
	return c
}
