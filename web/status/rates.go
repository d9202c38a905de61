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
	// Listeners are by listener name.
	Listeners map[string]ListenerRates `json:"listeners"`
	// RPC are by "server/function".
	RPC map[string]RPCRates `json:"rpc"`
	// UDP are by port name.
	UDP map[string]UDPRates `json:"udp_ports"`
	// Clients are the process's client connections'.
	Clients ClientRates `json:"clients"`
	// Sections are the rates of the sections' counters, by section name
	// and then figure key (metrics.Figure.Key).
	Sections map[string]map[string]float64 `json:"sections"`
}

// UDPRates are a UDP port's recent figures.
type UDPRates struct {
	DatagramsIn  float64 `json:"datagrams_in"`
	DatagramsOut float64 `json:"datagrams_out"`
	BytesIn      float64 `json:"bytes_in"`
	BytesOut     float64 `json:"bytes_out"`
}

// ClientRates are the recent figures of the client connections.
type ClientRates struct {
	Attempts float64 `json:"connect_attempts"`
	// Failures are the attempts that failed, for every reason.
	Failures float64 `json:"connect_failures"`
	BytesIn  float64 `json:"bytes_in"`
	BytesOut float64 `json:"bytes_out"`
}

// ListenerRates are a listener's recent figures.
type ListenerRates struct {
	Accepted float64 `json:"connections_accepted"`
	Refused  float64 `json:"connections_refused"`
	BytesIn  float64 `json:"bytes_in"`
	BytesOut float64 `json:"bytes_out"`
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
	// Errors are the failed calls, of every kind.
	Errors float64 `json:"errors"`
	// LatencyP50 and LatencyP99 are the quantiles of the latency of the
	// calls answered in the interval, in seconds.
	LatencyP50 float64 `json:"latency_p50_seconds"`
	LatencyP99 float64 `json:"latency_p99_seconds"`
}

// RPCKey is the key of a function in Rates.RPC.
func RPCKey(f *metrics.Function) string { return f.Server + "/" + f.Name }

// rates returns the rates from prev to cur, all zero without prev. A
// counter that went down (a loop replaced under the same name) rates 0.
func rates(prev, cur *metrics.Snapshot) Rates {
	r := Rates{
		Loops:     make(map[string]LoopRates, len(cur.Loops)),
		Listeners: make(map[string]ListenerRates, len(cur.Listeners)),
		RPC:       make(map[string]RPCRates, len(cur.RPC)),
		UDP:       make(map[string]UDPRates, len(cur.UDP)),
		Sections:  make(map[string]map[string]float64, len(cur.Sections)),
	}
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
	var oldListeners map[string]*metrics.Listen
	var oldRPC map[string]*metrics.Function
	var oldUDP map[string]*metrics.UDPPort
	var oldSections map[string]*metrics.Section
	oldClients := cur.Clients // rates 0 without prev
	if prev != nil {
		oldClients = prev.Clients
		oldUDP = byName(prev.UDP, func(p *metrics.UDPPort) string { return p.Name })
		oldSections = byName(prev.Sections, func(s *metrics.Section) string { return s.Name })
		oldLoops = byName(prev.Loops, func(l *metrics.Loop) string { return l.Name })
		oldListeners = byName(prev.Listeners, func(l *metrics.Listen) string { return l.Name })
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
			lr.LagP50, lr.LagP99 = recent(&old.Lag, &l.Lag)
		}
		r.Loops[l.Name] = lr
	}
	for i := range cur.Listeners {
		l := &cur.Listeners[i]
		old, ok := oldListeners[l.Name]
		if !ok {
			old = &metrics.Listen{}
		}
		r.Listeners[l.Name] = ListenerRates{
			Accepted: per(old.Accepted, l.Accepted),
			Refused:  per(old.Refused, l.Refused),
			BytesIn:  per(old.BytesIn, l.BytesIn),
			BytesOut: per(old.BytesOut, l.BytesOut),
		}
	}
	for i := range cur.UDP {
		p := &cur.UDP[i]
		old, ok := oldUDP[p.Name]
		if !ok {
			old = &metrics.UDPPort{}
		}
		r.UDP[p.Name] = UDPRates{
			DatagramsIn: per(old.DatagramsIn, p.DatagramsIn), DatagramsOut: per(old.DatagramsOut, p.DatagramsOut),
			BytesIn: per(old.BytesIn, p.BytesIn), BytesOut: per(old.BytesOut, p.BytesOut),
		}
	}
	o, c := &oldClients, &cur.Clients
	r.Clients = ClientRates{
		Attempts: per(o.Attempts, c.Attempts),
		Failures: per(o.Refused+o.TimedOut+o.Failed, c.Refused+c.TimedOut+c.Failed),
		BytesIn:  per(o.BytesIn, c.BytesIn), BytesOut: per(o.BytesOut, c.BytesOut),
	}
	for i := range cur.Sections {
		sec := &cur.Sections[i]
		old := map[string]float64{}
		if o, ok := oldSections[sec.Name]; ok {
			for _, f := range o.Figures {
				old[f.Key()] = f.Value
			}
		}
		sr := make(map[string]float64)
		for _, f := range sec.Figures {
			if f.Counter {
				if v, ok := old[f.Key()]; ok && r.Seconds > 0 && f.Value >= v {
					sr[f.Key()] = (f.Value - v) / r.Seconds
				} else {
					sr[f.Key()] = 0
				}
			}
		}
		r.Sections[sec.Name] = sr
	}
	for i := range cur.RPC {
		f := &cur.RPC[i]
		old, ok := oldRPC[RPCKey(f)]
		if !ok {
			old = &metrics.Function{}
		}
		fr := RPCRates{Calls: per(old.Calls, f.Calls), Errors: per(sum(old.Errors), sum(f.Errors))}
		if ok {
			fr.LatencyP50, fr.LatencyP99 = recent(&old.Latency, &f.Latency)
		}
		r.RPC[RPCKey(f)] = fr
	}
	return r
}

// recent returns the median and 99th percentile, in seconds, of what a
// histogram counted between two snapshots.
func recent(prev, cur *metrics.Latency) (p50, p99 float64) {
	window, before := counts(cur), counts(prev)
	if window.Count() < before.Count() {
		return 0, 0 // not the same histogram
	}
	window = window.Sub(&before)
	return window.Quantile(0.5).Seconds(), window.Quantile(0.99).Seconds()
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
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
