package metrics

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
)

// running starts a loop that runs until the test ends.
func running(t *testing.T) *reactor.Reactor {
	t.Helper()
	l, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	l.CallWhenRunning(func() { close(started) })
	done := make(chan error)
	go func() { done <- l.Run() }()
	<-started
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return l
}

// registry returns a registry of a running loop with some timers run and
// posted calls, and of a thread pool with a busy worker.
func registry(t *testing.T) (*Registry, *reactor.Reactor) {
	t.Helper()
	r := NewRegistry()
	l := running(t)
	r.AddLoop("main", l)
	fired := make(chan struct{})
	l.CallFromThread(func() {
		l.CallLater(0, func() { close(fired) })
		l.CallLater(time.Hour, func() {})
	})
	<-fired
	pool := threads.NewPool(0, 3)
	t.Cleanup(pool.Stop)
	release := make(chan struct{})
	started := make(chan struct{})
	if err := pool.CallInThread(func() { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	t.Cleanup(func() { close(release) })
	r.AddThreadPool("blocking", pool)
	return r, l
}

func TestSnapshot(t *testing.T) {
	r, _ := registry(t)
	s := r.Snapshot()
	if len(s.Loops) != 1 {
		t.Fatalf("Loops = %+v, want one", s.Loops)
	}
	l := s.Loops[0]
	if l.Name != "main" || !l.Responding || l.TimersRun != 1 || l.TimersPending != 1 || l.Lag.Count != 1 || l.PostedCalls < 2 {
		t.Errorf("loop = %+v; want main, responding, 1 timer run, 1 pending, 2+ posted calls", l)
	}
	if len(l.Lag.Buckets) != len(s.LatencyBounds)+1 {
		t.Errorf("%d lag buckets for %d bounds, want one more", len(l.Lag.Buckets), len(s.LatencyBounds))
	}
	if want := (Pool{Name: "blocking", Size: 3, Workers: 1, Busy: 1}); len(s.Threads) != 1 || s.Threads[0] != want {
		t.Errorf("Threads = %+v, want [%+v]", s.Threads, want)
	}
	if s.Goroutines == 0 || s.Memory.Heap == 0 || s.Uptime <= 0 {
		t.Errorf("Goroutines, Memory, Uptime = %d, %+v, %v; want them filled", s.Goroutines, s.Memory, s.Uptime)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"loops":[{"name":"main"`, `"lag":{"count":1`, `"busy_fraction":`, `"threads":[{"name":"blocking"`, `"unhandled_deferred_failures":`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
}

// TestSnapshotStuckLoop checks that a loop stuck in a callback is reported
// as not responding, within the loop wait.
func TestSnapshotStuckLoop(t *testing.T) {
	r, l := registry(t)
	r.Snapshot() // so that the loop has answered once
	release := make(chan struct{})
	l.CallFromThread(func() { <-release })
	defer close(release)
	r.SetLoopWait(20 * time.Millisecond)
	if s := r.Snapshot(); s.Loops[0].Responding || s.Loops[0].TimersRun != 1 {
		t.Errorf("stuck loop = %+v; want not responding, with its last counters", s.Loops[0])
	}
}

// gather registers the registry with a new Prometheus registry, as a
// program does, and returns the text exposition of a scrape.
func gather(t *testing.T, r *Registry) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestCollector(t *testing.T) {
	r, _ := registry(t)
	text := string(gather(t, r))
	for _, want := range []string{
		`twist_loop_iterations_total{loop="main"}`,
		`twist_loop_lag_seconds_bucket{loop="main",le="0.001"}`,
		`twist_loop_lag_seconds_count{loop="main"} 1`,
		`twist_loop_timers_pending{loop="main"} 1`,
		`twist_loop_responding{loop="main"} 1`,
		`twist_threads_busy_workers{pool="blocking"} 1`,
		`twist_deferred_unhandled_failures_total `,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// TestCollectorLint runs client_golang's linter, which applies
// Prometheus's naming rules, over the collector's metrics.
func TestCollectorLint(t *testing.T) {
	r, _ := registry(t)
	problems, err := testutil.CollectAndLint(r.Collector())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestPromtool checks a scrape with promtool, Prometheus's own checker
// (Debian's prometheus package; .ci/run installs it).
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (apt-get install prometheus): the scrape is not checked by Prometheus itself")
	}
	r, _ := registry(t)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(gather(t, r))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
