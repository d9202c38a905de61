package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/bench/internal/plot"
)

// sample is the server's state at one second of the run.
type sample struct {
	at             time.Duration // since the start of the load
	rss            int64         // bytes
	fds, threads   int
	goroutines     int
	callsPerSecond float64 // answers and responses checked, over the last second
}

// statusClient reads twistd's status page, on one kept-alive connection.
var statusClient = &http.Client{Timeout: 5 * time.Second}

// goroutines returns the goroutines of twistd's latest status sample
// (/status.json, which the page takes every second).
func (s *soak) goroutines() (int, error) {
	resp, err := statusClient.Get("http://" + s.srv.status + "/status.json")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("/status.json: %s", resp.Status)
	}
	var doc struct {
		Goroutines int `json:"goroutines"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return 0, fmt.Errorf("/status.json: %v", err)
	}
	if doc.Goroutines == 0 {
		return 0, fmt.Errorf("/status.json has no goroutines")
	}
	return doc.Goroutines, nil
}

// waitStatus waits up to timeout for the status page's first sample.
func (s *soak) waitStatus(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := s.goroutines()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sample samples the server every second until ctx ends.
func (s *soak) sample(ctx context.Context, start time.Time) []sample {
	var out []sample
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// Its connection is closed with the load's, for the descriptors' count.
	defer statusClient.CloseIdleConnections()
	last, lastAt := s.n.answered(), start
	for {
		select {
		case <-ctx.Done():
			return out
		case now := <-tick.C:
			smp := sample{at: now.Sub(start)}
			var err error
			if smp.rss, err = rss(s.srv.pid); err == nil {
				if smp.fds, err = countFDs(s.srv.pid); err == nil {
					if smp.threads, err = threads(s.srv.pid); err == nil {
						smp.goroutines, err = s.goroutines()
					}
				}
			}
			if err != nil {
				s.fail.add("sampling twistd: %v", err)
				continue
			}
			n := s.n.answered()
			smp.callsPerSecond = float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			out = append(out, smp)
			if len(out)%10 == 0 {
				s.progress("soak: %3.0fs  RSS %5.1f MiB  %5d descriptors  %3d threads  %4d goroutines  %6.0f calls/s  (%d answers checked, %d failures)",
					smp.at.Seconds(), float64(smp.rss)/(1<<20), smp.fds, smp.threads, smp.goroutines, smp.callsPerSecond, n, s.fail.count())
			}
		}
	}
}

// countFDs counts process pid's open descriptors.
func countFDs(pid int) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(fds), err
}

// threads returns process pid's number of threads.
func threads(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no Threads in /proc/%d/status", pid)
}

// waitFDs waits up to timeout for process pid to have no more than base
// descriptors open, and returns the number it has.
func waitFDs(pid, base int, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		n, err := countFDs(pid)
		if err != nil || n <= base {
			return n, err
		}
		if time.Now().After(deadline) {
			return n, fmt.Errorf("twistd has %d descriptors open %v after the load ended, %d before it began: a leak", n, timeout, base)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// maxDrift is how far a measure may move after the warm-up.
const maxDrift = 0.10

// flatness is how one measure moved after the warm-up: the median of the
// first third of its samples against that of the last third.
type flatness struct {
	name        string
	first, last float64
	min, max    float64
	err         error
}

func (f flatness) drift() float64 { return f.last/f.first - 1 }

// checkFlat checks that RSS stays within ±rssDrift after warmup, and
// descriptors, threads and goroutines within ±maxDrift (or 2).
func checkFlat(samples []sample, warmup time.Duration, rssDrift float64) []flatness {
	var after []sample
	for _, s := range samples {
		if s.at > warmup {
			after = append(after, s)
		}
	}
	// A count may also move by its floor: one thread more than 8 is 12%,
	// and the Go runtime keeps the threads it started.
	measures := []struct {
		name         string
		drift, floor float64
		get          func(sample) float64
	}{
		{"RSS (MiB)", rssDrift, 0, func(s sample) float64 { return float64(s.rss) / (1 << 20) }},
		{"descriptors", maxDrift, 2, func(s sample) float64 { return float64(s.fds) }},
		{"threads", maxDrift, 2, func(s sample) float64 { return float64(s.threads) }},
		{"goroutines", maxDrift, 2, func(s sample) float64 { return float64(s.goroutines) }},
	}
	var out []flatness
	for _, m := range measures {
		f := flatness{name: m.name}
		if len(after) < 6 {
			f.err = fmt.Errorf("%s: %d samples after the warm-up, too few to tell a trend", m.name, len(after))
			out = append(out, f)
			continue
		}
		vals := make([]float64, len(after))
		for i, s := range after {
			vals[i] = m.get(s)
		}
		third := len(vals) / 3
		f.first, f.last = median(vals[:third]), median(vals[len(vals)-third:])
		f.min, f.max = slices.Min(vals), slices.Max(vals)
		if d := f.drift(); (d > m.drift || d < -m.drift) && math.Abs(f.last-f.first) > m.floor {
			f.err = fmt.Errorf("%s moved by %+.1f%% after the warm-up (median %.1f in its first third, %.1f in its last), more than ±%.0f%%",
				m.name, 100*d, f.first, f.last, 100*m.drift)
		}
		out = append(out, f)
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// writeCSV writes the samples to path.
func writeCSV(path string, samples []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"seconds", "rss_bytes", "descriptors", "threads", "goroutines", "calls_per_second"})
	for _, s := range samples {
		w.Write([]string{
			strconv.FormatFloat(s.at.Seconds(), 'f', 1, 64), strconv.FormatInt(s.rss, 10),
			strconv.Itoa(s.fds), strconv.Itoa(s.threads), strconv.Itoa(s.goroutines), strconv.FormatFloat(s.callsPerSecond, 'f', 0, 64),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSummary writes the run's figures as Markdown.
func (r *result) writeSummary(w io.Writer) {
	n := r.n
	fmt.Fprintf(w, "Soak of %v (load %v, warm-up %v), %s\n\n", r.elapsed.Round(time.Second), r.cfg.Duration, r.cfg.Warmup, r.started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "| what | count |\n|---|---:|\n")
	rows := []struct {
		what string
		n    int64
	}{
		{"framed calls with ids, pipelined, answers checked", n.framedID.Load()},
		{"framed calls without ids, pipelined, answers checked in order", n.framedNoID.Load()},
		{"MongoDB wire OP_MSG calls, pipelined, answers checked by responseTo", n.wireID.Load()},
		{"calls sent with noreply / moreToCome (no answer came)", n.noReply.Load()},
		{"MongoDB Go driver commands", n.driver.Load()},
		{"crowd calls (one a second on each of the crowd's connections)", n.crowd.Load()},
		{"  crowd or slow-reader connections the soak left idle past the time-out, running late (closed, rightly)", n.late.Load()},
		{"HTTP GETs (keep-alive and Connection: close), bodies checked", n.http.Load()},
		{"churn connections opened and closed", n.churn.Load()},
		{"  of them reset (SO_LINGER 0)", n.resets.Load()},
		{"  of them with a call or request answered", n.churnCalls.Load()},
		{"slow-reader answers (64 KiB echoes, the 1 MiB file), every byte checked", n.slowCalls.Load()},
		{"  slow readers that paused past the idle time-out (under the write time-out) and got everything", n.slowPauses.Load()},
		{"stalled readers aborted by the write time-out, each abort logged under its address", n.stalled.Load()},
		{"  their answers read before the abort, checked", n.stalledAnswers.Load()},
		{"  their calls or responses dropped with the abort (never acknowledged)", n.stalledDropped.Load()},
		{"idle connections closed by the idle time-out", n.idleClosed.Load()},
		{"half-sent connections closed by the read time-out", n.readClosed.Load()},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %d |\n", row.what, row.n)
	}
	var peak float64
	for _, s := range r.samples {
		peak = max(peak, s.callsPerSecond)
	}
	fmt.Fprintf(w, "\nAnswers and responses checked: %d, %.0f a second on average, %.0f at most.\n\n",
		n.answered(), float64(n.answered())/r.elapsed.Seconds(), peak)
	fmt.Fprintf(w, "| after the warm-up | median, first third | median, last third | change | min | max |\n|---|---:|---:|---:|---:|---:|\n")
	for _, f := range r.flat {
		if f.first == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %+.1f%% | %.1f | %.1f |\n", f.name, f.first, f.last, 100*f.drift(), f.min, f.max)
	}
	fmt.Fprintf(w, "\nDescriptors before the load: %d; after it: %d.\n\n", r.baseFDs, r.afterFDs)
	prov, unexp := r.logs.summary()
	fmt.Fprintf(w, "twistd's log, the lines the soak provoked: %s.\n", strings.Join(prov, ", "))
	if len(unexp) > 0 {
		fmt.Fprintf(w, "Other lines: %s.\n", strings.Join(unexp, "; "))
	}
}

// writePlot draws RSS, descriptors, goroutines and calls per second over time, each
// as a percentage of its median after the warm-up (named in the legend),
// between the ±10% lines of the flatness check.
func writePlot(path string, samples []sample, warmup time.Duration) error {
	measures := []struct {
		name, unit string
		get        func(sample) float64
	}{
		{"RSS", "MiB", func(s sample) float64 { return float64(s.rss) / (1 << 20) }},
		{"descriptors", "", func(s sample) float64 { return float64(s.fds) }},
		{"goroutines", "", func(s sample) float64 { return float64(s.goroutines) }},
		{"calls/s", "", func(s sample) float64 { return s.callsPerSecond }},
	}
	var series []plot.Series
	var after []float64
	for _, m := range measures {
		after = after[:0]
		for _, s := range samples {
			if s.at > warmup {
				after = append(after, m.get(s))
			}
		}
		if len(after) == 0 {
			return fmt.Errorf("soak: no samples after the warm-up to plot")
		}
		ref := median(after)
		if ref == 0 {
			return fmt.Errorf("soak: %s is 0 after the warm-up", m.name)
		}
		ps := plot.Series{Name: fmt.Sprintf("%s (100%% = %.4g %s)", m.name, ref, m.unit)}
		for _, s := range samples {
			ps.X = append(ps.X, s.at.Seconds())
			ps.Y = append(ps.Y, 100*m.get(s)/ref)
		}
		series = append(series, ps)
	}
	end := samples[len(samples)-1].at.Seconds()
	for _, band := range []float64{100 * (1 + maxDrift), 100 * (1 - maxDrift)} {
		series = append(series, plot.Series{Name: fmt.Sprintf("%.0f%%", band), X: []float64{warmup.Seconds(), end}, Y: []float64{band, band}})
	}
	return plot.Lines(path, "twistd under soak: memory, descriptors, goroutines and calls per second",
		"seconds", "% of the median after the warm-up", series...)
}
