package main

import (
	"fmt"
	"math"
	"strings"
)

// A metric is one column of a workload's table.
type metric struct {
	key, header string
	// lowerBetter says which way the best peer is found.
	lowerBetter bool
	// scale divides the stored value for display (1000 shows ns as µs).
	scale  float64
	digits int
}

// The metrics the harnesses report. CPU is the server process's user and
// system time per operation; memory is its resident set growth per idle
// connection.
var (
	mRate       = metric{key: "rate", header: "ops/s", scale: 1}
	mCPU        = metric{key: "cpu", header: "server CPU ns/op", lowerBetter: true, scale: 1}
	mP50        = metric{key: "p50", header: "p50 µs", lowerBetter: true, scale: 1000, digits: 1}
	mP99        = metric{key: "p99", header: "p99 µs", lowerBetter: true, scale: 1000, digits: 1}
	mMem        = metric{key: "mem", header: "KiB/conn", lowerBetter: true, scale: 1024, digits: 2}
	mGoroutines = metric{key: "goroutines", header: "goroutines/conn", lowerBetter: true, scale: 1, digits: 2}
	mHSRate     = metric{key: "hsrate", header: "handshakes/s", scale: 1}
	mHSCPU      = metric{key: "hscpu", header: "server CPU µs/handshake", lowerBetter: true, scale: 1000, digits: 1}
	mWall       = metric{key: "wall", header: "ns/op", lowerBetter: true, scale: 1}
)

// named returns m with another header, for units other than "op".
func (m metric) named(header string) metric {
	m.header = header
	return m
}

// A row is one system's figures in a workload.
type row struct {
	system string
	// twist marks Twist's rows; the others are the peers.
	twist bool
	v     map[string]float64
}

// A workload is one table of the report: systems measured alike in the
// same run.
type workload struct {
	family, name string
	// label names the workload in a chart's category.
	label string
	// note, if any, is said under the workload's heading.
	note    string
	metrics []metric
	rows    []row
}

// bestPeer returns the best value of m among w's peers, and false if no
// peer has one.
func (w *workload) bestPeer(m metric) (float64, bool) {
	best, ok := 0.0, false
	for _, r := range w.rows {
		v, has := r.v[m.key]
		if r.twist || !has || v <= 0 {
			continue
		}
		if !ok || (m.lowerBetter && v < best) || (!m.lowerBetter && v > best) {
			best, ok = v, true
		}
	}
	return best, ok
}

// ratio returns r's value of m over the best peer's, and false if either
// is missing. A negative figure (a count that fell by noise) has no ratio.
func (w *workload) ratio(r row, m metric) (float64, bool) {
	v, has := r.v[m.key]
	best, ok := w.bestPeer(m)
	if !has || !ok || v < 0 {
		return 0, false
	}
	return v / best, true
}

// cell formats r's value of m with its ratio to the best peer's.
func (w *workload) cell(r row, m metric) string {
	v, ok := r.v[m.key]
	if !ok {
		return "-"
	}
	s := formatNumber(v/m.scale, m.digits)
	if q, ok := w.ratio(r, m); ok {
		s += fmt.Sprintf(" (%.2f×)", q)
	}
	if r.twist {
		s = "**" + s + "**"
	}
	return s
}

// writeTable writes w as a Markdown table.
func (w *workload) writeTable(b *strings.Builder) {
	b.WriteString("| system |")
	for _, m := range w.metrics {
		fmt.Fprintf(b, " %s |", m.header)
	}
	b.WriteString("\n|---|")
	for range w.metrics {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range w.rows {
		fmt.Fprintf(b, "| %s |", r.system)
		for _, m := range w.metrics {
			fmt.Fprintf(b, " %s |", w.cell(r, m))
		}
		b.WriteString("\n")
	}
}

// formatNumber formats v with digits decimals, and thousands separated
// when it has none.
func formatNumber(v float64, digits int) string {
	if digits > 0 || math.Abs(v) < 1000 {
		return fmt.Sprintf("%.*f", digits, v)
	}
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
