package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twistgo/twist/bench/internal/plot"
)

// chartedMetrics are the metrics drawn as a chart per family, with a word
// for the chart's file name.
var chartedMetrics = []string{"cpu", "mem", "wall"}

// writeReport writes the Markdown report to cfg.out and its charts beside
// it.
func writeReport(cfg config, m machine, results []result) error {
	dir := filepath.Dir(cfg.out)
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Twist side by side with the libraries people would otherwise choose, measured in one run by\n" +
		"`make bench` ([bench/cmd/benchreport](../bench/cmd/benchreport)). This page is generated; do not edit it by hand.\n\n")
	if cfg.short {
		b.WriteString("**Short mode: one round of tiny loads. These figures prove the harness works and mean nothing.**\n\n")
	}
	fmt.Fprintf(&b, "- Date: %s; the run took %s.\n", m.date.Format("2006-01-02 15:04 UTC"), m.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %d CPUs, %s, %s. Load average (1, 5, 15 min) %s at the start, %s at the end.\n",
		m.cpus, or(m.cpuModel, "unknown CPU"), or(m.kernel, "unknown kernel"), m.loadStart, m.loadEnd)
	if busy(m.loadStart) {
		b.WriteString("- The machine was not idle (see the load average): other work shared its CPUs during the " +
			"measurement, so absolute figures are lower and noisier than on an idle machine; the ratios, taken in the " +
			"same run with the servers alternating, are the figures to read.\n")
	}
	if cfg.note != "" {
		fmt.Fprintf(&b, "- Note: %s\n", cfg.note)
	}
	fmt.Fprintf(&b, "- Versions: %s", m.goV)
	for _, p := range m.peers {
		fmt.Fprintf(&b, ", %s", p)
	}
	for _, t := range m.tools {
		fmt.Fprintf(&b, ", %s", t)
	}
	b.WriteString(".\n")
	fmt.Fprintf(&b, "- Command: `%s`.\n", cfg.command)
	fmt.Fprintf(&b, "- Method: every server runs in its own process pinned to CPU %s with `taskset`, the load on CPU %s. "+
		"Each harness takes the servers in turn within a round (A B C A B C) and reports the medians of %d rounds; "+
		"each load runs %v after a %v warm-up (wrk's in whole seconds); Go benchmarks run with -benchtime %s. "+
		"Server CPU is the server process's user and system time over the measured window (from /proc), per operation; "+
		"memory is the growth of its resident set (VmRSS) per idle connection.\n",
		serverCPU, loadCPU, cfg.rounds, cfg.duration, cfg.warmup, cfg.benchtime)
	b.WriteString("- Ratios: each figure is followed by its ratio to the best peer's in the same table (the best of the " +
		"non-Twist rows: the lowest CPU, memory or latency, the highest rate). Below 1.00× is less than the best peer " +
		"uses or does; Twist's rows are in bold.\n\n")

	writeSummary(&b, results)
	var missing []string
	for _, res := range results {
		f := res.family
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", f.title, f.about)
		switch {
		case res.missing != "":
			fmt.Fprintf(&b, "Not measured: %s.\n\n", res.missing)
			missing = append(missing, fmt.Sprintf("%s: %s", f.title, res.missing))
			continue
		case res.err != nil:
			fmt.Fprintf(&b, "**Failed:** %s\n\n", firstLine(res.err.Error()))
			missing = append(missing, fmt.Sprintf("%s: failed (%s)", f.title, firstLine(res.err.Error())))
		}
		for _, w := range res.workloads {
			fmt.Fprintf(&b, "### %s\n\n", w.name)
			if w.note != "" {
				fmt.Fprintf(&b, "%s\n\n", w.note)
			}
			w.writeTable(&b)
			b.WriteString("\n")
		}
		for _, key := range chartedMetrics {
			name := fmt.Sprintf("bench-%s-%s.svg", f.name, key)
			title, ok, err := drawChart(filepath.Join(dir, name), f, res.workloads, key)
			if err != nil {
				return err
			}
			if ok {
				fmt.Fprintf(&b, "![%s](%s)\n\n", title, name)
			}
		}
		b.WriteString("Commands:\n\n")
		for _, c := range res.commands {
			fmt.Fprintf(&b, "- `%s`\n", c)
		}
		b.WriteString("\n")
	}
	if len(missing) > 0 {
		b.WriteString("## Not measured\n\n")
		for _, s := range missing {
			fmt.Fprintf(&b, "- %s\n", s)
		}
		b.WriteString("\n")
	}
	return os.WriteFile(cfg.out, []byte(b.String()), 0o644)
}

// writeSummary writes a table of Twist's rows alone: each figure's ratio
// to the best peer's, workload by workload.
func writeSummary(b *strings.Builder, results []result) {
	b.WriteString("## Summary\n\nTwist's figures as ratios to the best peer's (details, and the figures themselves, below).\n\n")
	b.WriteString("| workload | Twist | ratios to the best peer |\n|---|---|---|\n")
	for _, res := range results {
		for _, w := range res.workloads {
			for _, r := range w.rows {
				if !r.twist {
					continue
				}
				var ratios []string
				for _, m := range w.metrics {
					if q, ok := w.ratio(r, m); ok {
						ratios = append(ratios, fmt.Sprintf("%s %.2f×", m.header, q))
					}
				}
				fmt.Fprintf(b, "| %s | %s | %s |\n", w.name, r.system, strings.Join(ratios, "; "))
			}
		}
	}
	b.WriteString("\n")
}

// drawChart draws the bar chart of metric key over f's workloads that have
// it, one group per workload and one bar per system, and returns its title;
// ok is false, and nothing is drawn, when no workload has the metric.
func drawChart(path string, f family, ws []workload, key string) (title string, ok bool, err error) {
	var cats, systems []string
	var unit metric
	for _, w := range ws {
		i := slices.IndexFunc(w.metrics, func(m metric) bool { return m.key == key })
		if i < 0 {
			continue
		}
		unit = w.metrics[i]
		cats = append(cats, w.label)
		for _, r := range w.rows {
			if !slices.Contains(systems, r.system) {
				systems = append(systems, r.system)
			}
		}
	}
	if len(cats) == 0 {
		return "", false, nil
	}
	series := make([]plot.BarSeries, len(systems))
	for i, s := range systems {
		series[i] = plot.BarSeries{Name: s}
		for _, w := range ws {
			if !slices.ContainsFunc(w.metrics, func(m metric) bool { return m.key == key }) {
				continue
			}
			v := math.NaN()
			if j := slices.IndexFunc(w.rows, func(r row) bool { return r.system == s }); j >= 0 {
				if x, has := w.rows[j].v[key]; has {
					v = x / unit.scale
				}
			}
			series[i].Values = append(series[i].Values, v)
		}
	}
	title = fmt.Sprintf("%s: %s", f.title, unit.header)
	if err := plot.Bars(path, title, unit.header, cats, series...); err != nil {
		return "", false, fmt.Errorf("chart %s: %w", path, err)
	}
	return title, true, nil
}

// busy says whether a load average (as loadAverage reads it) shows other
// work: half a CPU's worth over the last minute.
func busy(load string) bool {
	var one float64
	_, err := fmt.Sscan(load, &one)
	return err == nil && one > 0.5
}

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
