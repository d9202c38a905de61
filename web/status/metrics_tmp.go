package status

// TEMPORARY: the shape of metrics.Snapshot from CONTRACTS.md item 1, until
// package metrics lands on main; this file goes then.

import (
	"time"
)

type Snapshot struct {
	Time       time.Time       `json:"time"`
	Uptime     float64         `json:"uptime_seconds"`
	Loops      []LoopStats     `json:"loops"`
	Listeners  []ListenerStats `json:"listeners"`
	RPC        []RPCStats      `json:"rpc"`
	Goroutines int             `json:"goroutines"`
	HeapBytes  uint64          `json:"heap_bytes"`
}

type LoopStats struct {
	Name       string  `json:"name"`
	Iterations uint64  `json:"iterations"`
	Events     uint64  `json:"events"`
	LagP99     float64 `json:"lag_p99_seconds"`
}

type ListenerStats struct {
	Name     string `json:"name"`
	Open     int64  `json:"open"`
	Accepted uint64 `json:"accepted"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

type RPCStats struct {
	Name   string  `json:"name"`
	Calls  uint64  `json:"calls"`
	Errors uint64  `json:"errors"`
	P50    float64 `json:"p50_seconds"`
	P99    float64 `json:"p99_seconds"`
}
