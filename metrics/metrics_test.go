package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/twistgo/twist/internal/promtool"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
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
// posted calls; of an RPC server listening on it, called once by a client
// that stays connected; of a second listener found by AddOpenListeners;
// and of a thread pool with a busy worker.
func registry(t *testing.T) (*Registry, *reactor.Reactor) {
	t.Helper()
	r := NewRegistry()
	l := running(t)
	r.AddLoop("main", l)
	srv := rpc.NewServer()
	if err := srv.Register("add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	r.AddRPCServer("demo", srv)
	r.AddOpenListeners()
	ports := make(chan [2]*internet.Port)
	l.CallFromThread(func() {
		l.CallLater(0, func() {})
		l.CallLater(time.Hour, func() {})
		a, err := internet.ListenTCP(l, "127.0.0.1:0", srv.Factory())
		if err != nil {
			t.Error(err)
		}
		b, err := internet.ListenTCP(l, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil }))
		if err != nil {
			t.Error(err)
		}
		ports <- [2]*internet.Port{a, b}
	})
	p := <-ports
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() {
		l.CallFromThread(func() { p[0].StopListening(); p[1].StopListening() })
	})
	r.AddListener("rpc", p[0])
	c, err := rpc.Dial(context.Background(), p[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var sum int
	if err := c.Call(context.Background(), "add", []any{1, 2}, &sum); err != nil {
		t.Fatal(err)
	}
	// A UDP port found by AddOpenListeners gets a datagram, and a client
	// connection is made to the listener that refuses everyone.
	received := make(chan struct{})
	lost := make(chan struct{})
	turns := 0
	l.CallFromThread(func() {
		u, err := internet.ListenUDP(l, "127.0.0.1:0", datagramFunc(func([]byte, net.Addr) { close(received) }))
		if err != nil {
			t.Error(err)
			close(received)
		} else {
			t.Cleanup(func() { l.CallFromThread(func() { u.StopListening() }) })
			_ = u.WriteTo([]byte("ping"), u.LocalAddr())
		}
		internet.ConnectProtocol(l, p[1].Addr().String(), lostFunc(func() { close(lost) }))
		r.AddSection("demo", l, func() []Figure {
			turns++ // on the loop, hence no lock
			return []Figure{
				{Name: "reads", Help: "Reads of the section.", Counter: true, Value: float64(turns)},
				{Name: "queued", Help: "Things queued.", Value: 7},
				{Name: "errors", Label: "kind", LabelValue: "timeout", Help: "Errors by kind.", Counter: true, Value: 2},
			}
		})
	})
	<-received
	<-lost // the listener has refused it
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
	if len(s.Listeners) < 2 {
		t.Fatalf("Listeners = %+v, want the rpc one and the one found open", s.Listeners)
	}
	if ls := s.Listeners[0]; ls.Name != "rpc" || ls.Open != 1 || ls.Accepted != 1 || ls.BytesIn == 0 || ls.BytesOut == 0 {
		t.Errorf("rpc listener = %+v; want one connection open and accepted, bytes both ways", ls)
	}
	if ls := s.Listeners[1]; ls.Name != "tcp:"+ls.Addr || ls.Accepted != 1 || ls.Refused != 1 {
		t.Errorf("open listener = %+v; want named tcp:ADDR, the client connection accepted and refused", ls)
	}
	if len(s.UDP) != 1 || s.UDP[0].Name != "udp:"+s.UDP[0].Addr || s.UDP[0].DatagramsIn != 1 || s.UDP[0].DatagramsOut != 1 || s.UDP[0].BytesIn != 4 {
		t.Errorf("UDP = %+v; want the open port, named udp:ADDR, one datagram of 4 bytes each way", s.UDP)
	}
	if s.Clients.Attempts == 0 || s.Clients.Connected == 0 {
		t.Errorf("Clients = %+v; want an attempt and a connection", s.Clients)
	}
	if len(s.Sections) != 1 || !s.Sections[0].Responding || len(s.Sections[0].Figures) != 3 || s.Sections[0].Figures[0].Value != 1 || s.Sections[0].Figures[2].Key() != "errors/timeout" {
		t.Errorf("Sections = %+v; want demo, read once on its loop", s.Sections)
	}
	if len(s.RPC) != 1 || s.RPC[0].Calls != 1 || s.RPC[0].Server != "demo" || s.RPC[0].Latency.Count == 0 {
		t.Errorf("RPC = %+v; want demo's add called once, and timed", s.RPC)
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
	for _, key := range []string{`"loops":[{"name":"main"`, `"udp_ports":[{"name":"udp:`, `"clients":{"connect_attempts":`, `"sections":[{"name":"demo","responding":true,"figures":[{"name":"reads"`, `"lag":{"count":1`, `"busy_fraction":`, `"threads":[{"name":"blocking"`, `"unhandled_deferred_failures":`} {
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
	} else if sec := s.Sections[0]; sec.Responding || len(sec.Figures) != 3 || sec.Figures[0].Value != 1 {
		t.Errorf("section of a stuck loop = %+v; want not responding, with the figures of the last read", sec)
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
		`twist_listener_connections_open{listener="rpc"} 1`,
		`twist_listener_connections_accepted_total{listener="rpc"} 1`,
		`twist_rpc_calls_total{function="add",server="demo"} 1`,
		`twist_rpc_errors_total{function="add",kind="Timeout",server="demo"} 0`,
		`twist_rpc_calls_in_flight{function="add",server="demo"} 0`,
		`twist_rpc_call_duration_seconds_bucket{function="add",server="demo",le="+Inf"}`,
		`twist_rpc_unknown_function_calls_total{server="demo"} 0`,
		`twist_rpc_unsent_answers_total{server="demo"} 0`,
		`twist_deferred_unhandled_failures_total `,
		`twist_udp_received_datagrams_total{port="udp:127.0.0.1:`,
		`twist_udp_sent_bytes_total{port="udp:127.0.0.1:`,
		`twist_client_connect_attempts_total `,
		`twist_client_connect_failures_total{reason="refused"} `,
		`twist_client_connections_open `,
		`twist_demo_reads_total 1`,
		`twist_demo_queued 7`,
		`twist_demo_errors_total{kind="timeout"} 2`,
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
	r, _ := registry(t)
	if !promtool.Check(t, gather(t, r)) {
		t.Skip("promtool not found (apt-get install prometheus)")
	}
}

// datagramFunc adapts a function to an internet.DatagramProtocol.
type datagramFunc func(data []byte, addr net.Addr)

func (f datagramFunc) DatagramReceived(data []byte, addr net.Addr) { f(data, addr) }

// TestAddSectionName checks that a section name Prometheus could not take
// is refused at once.
func TestAddSectionName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AddSection took the name \"Bad-Name\"")
		}
	}()
	NewRegistry().AddSection("Bad-Name", nil, func() []Figure { return nil })
}

// lostFunc is a protocol that calls itself when its connection is lost.
type lostFunc func()

func (f lostFunc) ConnectionMade(internet.Transport) {}
func (f lostFunc) DataReceived([]byte)               {}
func (f lostFunc) ConnectionLost(error)              { f() }
