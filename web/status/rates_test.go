package status

import (
	"testing"
	"time"

	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/metrics/latency"
)

// lag returns a snapshot histogram with n durations of d more than base.
func lag(base *latency.Counts, n int, d time.Duration) (latency.Counts, metrics.Latency) {
	c := *base
	for range n {
		c.Observe(d)
	}
	return c, metrics.Latency{Count: c.Count(), Max: c.Max.Seconds(), Buckets: c.Buckets[:]}
}

func TestRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var none latency.Counts
	slow, slowLag := lag(&none, 100, 40*time.Millisecond)
	_, fastLag := lag(&slow, 1000, 8*time.Microsecond)
	prev := metrics.Snapshot{
		Time:      t0,
		Loops:     []metrics.Loop{{Name: "main", Iterations: 100, Events: 50, Uptime: 10, Busy: 1, Lag: slowLag}},
		Listeners: []metrics.Listen{{Name: "rpc", Accepted: 5, BytesIn: 1000, BytesOut: 2000}},
		RPC:       []metrics.Function{{Server: "rpc", Name: "add", Calls: 10, Errors: map[string]uint64{"Timeout": 1}, Latency: slowLag}},
		UDP:       []metrics.UDPPort{{Name: "dns", DatagramsIn: 10, BytesIn: 500}},
		Clients:   metrics.Clients{Attempts: 4, Refused: 1, BytesOut: 100},
		Sections: []metrics.Section{{Name: "crawl", Figures: []metrics.Figure{
			{Name: "pages", Counter: true, Value: 10},
			{Name: "errors", Label: "kind", LabelValue: "timeout", Counter: true, Value: 1},
		}}},
	}
	cur := metrics.Snapshot{
		Time: t0.Add(2 * time.Second),
		Loops: []metrics.Loop{
			{Name: "main", Iterations: 300, Events: 1050, PostedCalls: 4, Uptime: 12, Busy: 1.5, Lag: fastLag},
			{Name: "new", Iterations: 7},
		},
		Listeners: []metrics.Listen{{Name: "rpc", Accepted: 9, Refused: 2, BytesIn: 5000, BytesOut: 2000}},
		RPC: []metrics.Function{
			{Server: "rpc", Name: "add", Calls: 410, Errors: map[string]uint64{"Timeout": 3, "HandlerError": 4}, Latency: fastLag},
			{Server: "rpc", Name: "echo", Calls: 3},
		},
		UDP:     []metrics.UDPPort{{Name: "dns", DatagramsIn: 30, BytesIn: 1500, DatagramsOut: 2}},
		Clients: metrics.Clients{Attempts: 10, Refused: 2, TimedOut: 1, Failed: 1, BytesOut: 300, BytesIn: 4},
		Sections: []metrics.Section{{Name: "crawl", Figures: []metrics.Figure{
			{Name: "pages", Counter: true, Value: 16},
			{Name: "queued", Value: 40},
			{Name: "errors", Label: "kind", LabelValue: "timeout", Counter: true, Value: 5},
		}}},
	}
	r := rates(&prev, &cur)
	if r.Seconds != 2 {
		t.Errorf("Seconds %v, want 2", r.Seconds)
	}
	m := r.Loops["main"]
	if m.Iterations != 100 || m.Events != 500 || m.PostedCalls != 2 || m.BusyFraction != 0.25 {
		t.Errorf("main loop rates %+v, want 100 iterations/s, 500 events/s, 2 posted/s, busy 0.25", m)
	}
	// The window holds only the fast timers: its p99 is within their
	// bucket (5µs, 10µs], though the cumulative p99 is 40ms's bucket.
	if m.LagP99 <= 5e-6 || m.LagP99 > 10e-6 || m.LagP50 > 10e-6 {
		t.Errorf("recent lag p50 %v p99 %v, want within (5µs, 10µs]", m.LagP50, m.LagP99)
	}
	if n := r.Loops["new"]; n.Iterations != 3.5 || n.LagP99 != 0 {
		t.Errorf("a new loop's rates %+v: counted from zero, no lag window", n)
	}
	if a := r.RPC["rpc/add"]; a.Calls != 200 || a.Errors != 3 || a.LatencyP99 <= 5e-6 || a.LatencyP99 > 10e-6 || r.RPC["rpc/echo"].Calls != 1.5 {
		t.Errorf("rpc rates %+v", r.RPC)
	}
	if l := r.Listeners["rpc"]; l != (ListenerRates{Accepted: 2, Refused: 1, BytesIn: 2000, BytesOut: 0}) {
		t.Errorf("listener rates %+v", l)
	}
	if u := r.UDP["dns"]; u != (UDPRates{DatagramsIn: 10, BytesIn: 500, DatagramsOut: 1}) {
		t.Errorf("UDP rates %+v", u)
	}
	if c := r.Clients; c != (ClientRates{Attempts: 3, Failures: 1.5, BytesOut: 100, BytesIn: 2}) {
		t.Errorf("client rates %+v", c)
	}
	if c := r.Sections["crawl"]; len(c) != 2 || c["pages"] != 3 || c["errors/timeout"] != 2 {
		t.Errorf("section rates %+v; want pages 3/s, errors/timeout 2/s, no rate of a gauge", c)
	}
	// A loop whose counters went down (replaced under its name) rates 0.
	if back := rates(&cur, &prev); back.Seconds != 0 || back.Loops["main"].Events != 0 {
		t.Errorf("rates backwards in time %+v", back)
	}
	first := rates(nil, &cur)
	if first.Seconds != 0 || first.Loops == nil || first.Listeners == nil || first.RPC == nil || first.Loops["main"].Events != 0 ||
		first.Clients.Attempts != 0 || first.Sections["crawl"]["pages"] != 0 {
		t.Errorf("first rates %+v: want zero, maps not nil", first)
	}
}
