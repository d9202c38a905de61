package status

// Rates are the per-second rates of a sample's counters over the interval
// since the previous sample, by the name of what they count.
type Rates struct {
	// Seconds is the interval the rates are over; 0 for the first sample.
	Seconds   float64                  `json:"seconds"`
	Loops     map[string]LoopRates     `json:"loops"`
	Listeners map[string]ListenerRates `json:"listeners"`
	RPC       map[string]RPCRates      `json:"rpc"`
}

// LoopRates are a loop's rates.
type LoopRates struct {
	Iterations float64 `json:"iterations"`
	Events     float64 `json:"events"`
}

// ListenerRates are a listener's rates.
type ListenerRates struct {
	Accepted float64 `json:"accepted"`
	BytesIn  float64 `json:"bytes_in"`
	BytesOut float64 `json:"bytes_out"`
}

// RPCRates are an RPC function's rates.
type RPCRates struct {
	Calls  float64 `json:"calls"`
	Errors float64 `json:"errors"`
}

// rates returns the rates from prev to cur, all zero without prev. A
// counter that went down (a loop or listener replaced under the same name)
// rates 0.
func rates(prev, cur *Snapshot) Rates {
	r := Rates{Loops: map[string]LoopRates{}, Listeners: map[string]ListenerRates{}, RPC: map[string]RPCRates{}}
	if prev == nil || !cur.Time.After(prev.Time) {
		return r
	}
	r.Seconds = cur.Time.Sub(prev.Time).Seconds()
	per := func(a, b uint64) float64 {
		if b < a {
			return 0
		}
		return float64(b-a) / r.Seconds
	}
	for _, l := range cur.Loops {
		var old LoopStats
		for _, o := range prev.Loops {
			if o.Name == l.Name {
				old = o
			}
		}
		r.Loops[l.Name] = LoopRates{Iterations: per(old.Iterations, l.Iterations), Events: per(old.Events, l.Events)}
	}
	return r
}
