package metrics

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/metrics/latency"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/threads"
)

// DefaultLoopWait is how long a Registry waits for a loop to hand over its
// counters (reactor.Reactor.Stats) before it reports that loop as not
// responding, with the counters it last gave.
const DefaultLoopWait = 250 * time.Millisecond

// Registry gathers what a program exposes: its loops, listeners, UDP
// ports, RPC servers, thread pools and sections of its own figures, each
// under a name. The zero value is not
// usable: make one with NewRegistry. Its methods may be called from any
// goroutine, at any time, the Add methods included.
type Registry struct {
	start time.Time
	wait  time.Duration

	mu        sync.Mutex
	loops     []named[*reactor.Reactor]
	listeners []named[internet.Listener]
	// openListeners: report internet.OpenListeners too.
	openListeners bool
	udp           []named[*internet.UDPPort]
	servers       []named[*rpc.Server]
	pools         []named[*threads.Pool]
	sections      []*section
}

type named[T any] struct {
	name string
	v    T
}

// readNamed reads the ports added, under their names, and, if all is set,
// the others that open lists, under the names unnamed gives them.
func readNamed[K comparable, V any](added []named[K], all bool, open func() []K, read func(string, K) V, unnamed func(K) string) []V {
	out := make([]V, 0, len(added))
	seen := make(map[K]bool, len(added))
	for _, p := range added {
		seen[p.v] = true
		out = append(out, read(p.name, p.v))
	}
	if all {
		for _, p := range open() {
			if !seen[p] {
				out = append(out, read(unnamed(p), p))
			}
		}
	}
	return out
}

// NewRegistry returns an empty registry; its uptime counts from now.
func NewRegistry() *Registry {
	return &Registry{start: time.Now(), wait: DefaultLoopWait}
}

// SetLoopWait sets how long Snapshot and Collect wait for each loop's
// counters before reporting it as not responding; the default is
// DefaultLoopWait. The loops are asked at once, so a read waits at most
// this long however many loops there are.
func (r *Registry) SetLoopWait(d time.Duration) {
	r.mu.Lock()
	r.wait = d
	r.mu.Unlock()
}

// AddLoop adds a loop under name (a label value: keep it short and fixed,
// such as "main").
func (r *Registry) AddLoop(name string, l *reactor.Reactor) {
	r.mu.Lock()
	r.loops = append(r.loops, named[*reactor.Reactor]{name, l})
	r.mu.Unlock()
}

// AddGroup adds the loops of a group as name/0, name/1, ...
func (r *Registry) AddGroup(name string, g *reactor.Group) {
	for i, l := range g.Loops() {
		r.AddLoop(fmt.Sprintf("%s/%d", name, i), l)
	}
}

// AddRPCServer adds an RPC server under name; its functions are reported
// by name, those registered later included.
func (r *Registry) AddRPCServer(name string, s *rpc.Server) {
	r.mu.Lock()
	r.servers = append(r.servers, named[*rpc.Server]{name, s})
	r.mu.Unlock()
}

// AddThreadPool adds a thread pool under name, such as threads.Default()
// as "default".
func (r *Registry) AddThreadPool(name string, p *threads.Pool) {
	r.mu.Lock()
	r.pools = append(r.pools, named[*threads.Pool]{name, p})
	r.mu.Unlock()
}

// Snapshot is everything a Registry reads at one time: the /status.json
// document. Durations are in seconds, as floating point numbers, and
// counters are cumulative.
type Snapshot struct {
	// Time is when the snapshot was taken; Uptime how long the registry
	// has existed by then.
	Time   time.Time `json:"time"`
	Uptime float64   `json:"uptime_seconds"`
	// LatencyBounds are the upper bounds, in seconds, of the buckets of
	// every latency histogram below (package latency): the bucket counts
	// have one more entry, for what is past the last bound.
	LatencyBounds []float64 `json:"latency_bounds_seconds"`
	Loops         []Loop    `json:"loops"`
	Listeners     []Listen  `json:"listeners"`
	UDP           []UDPPort `json:"udp_ports"`
	// Clients are the process's client connections, process-wide.
	Clients    Clients    `json:"clients"`
	RPCServers []Server   `json:"rpc_servers"`
	RPC        []Function `json:"rpc"`
	Threads    []Pool     `json:"threads"`
	// Sections are the program's own figures (AddSection).
	Sections []Section `json:"sections"`
	// UnhandledFailures counts the Deferreds dropped with a failure
	// (deferred.UnhandledFailures), process-wide.
	UnhandledFailures uint64 `json:"unhandled_deferred_failures"`
	Memory            Memory `json:"memory"`
	Goroutines        int    `json:"goroutines"`
}

// Loop is one loop's entry of a Snapshot (reactor.Stats).
type Loop struct {
	Name string `json:"name"`
	// Responding is false when the loop did not hand over its counters in
	// time, being stuck in a callback: the figures are then those it gave
	// last.
	Responding    bool    `json:"responding"`
	Iterations    uint64  `json:"iterations"`
	Events        uint64  `json:"events"`
	PostedCalls   uint64  `json:"posted_calls"`
	TimersRun     uint64  `json:"timers_run"`
	TimersPending int     `json:"timers_pending"`
	Lag           Latency `json:"lag"`
	// Uptime is how long the loop has run, Busy how much of it was spent
	// outside the poller's wait (estimated, see reactor.Stats), and
	// BusyFraction their ratio since the start: the page gets the recent
	// fraction from the change of Busy between two snapshots.
	Uptime       float64 `json:"uptime_seconds"`
	Busy         float64 `json:"busy_seconds"`
	BusyFraction float64 `json:"busy_fraction"`
}

// Latency summarises a latency histogram (latency.Counts): its count, sum,
// estimated quantiles and maximum in seconds, and its bucket counts (not
// cumulative), whose bounds are the Snapshot's LatencyBounds.
type Latency struct {
	Count   uint64   `json:"count"`
	Sum     float64  `json:"sum_seconds"`
	P50     float64  `json:"p50_seconds"`
	P99     float64  `json:"p99_seconds"`
	Max     float64  `json:"max_seconds"`
	Buckets []uint64 `json:"buckets"`
}

// Pool is a thread pool's entry of a Snapshot (threads.Stats).
type Pool struct {
	Name string `json:"name"`
	// Size is the maximum number of workers, Workers those running.
	Size    int `json:"size"`
	Workers int `json:"workers"`
	Busy    int `json:"busy"`
	Queued  int `json:"queued"`
}

// Memory is the process's memory in a Snapshot, in bytes: the live heap
// and the resident set size (0 where the system does not tell).
type Memory struct {
	Heap uint64 `json:"heap_bytes"`
	RSS  uint64 `json:"rss_bytes"`
}

// Snapshot reads everything registered. It asks every loop at once and
// waits for each up to the loop wait (SetLoopWait); the rest is read from
// atomics and locks held briefly. It may be called from any goroutine but
// a loop's: it blocks, and a loop that waits for itself answers late, so
// code on a loop (a web Resource) runs it with threads.DeferToThread.
func (r *Registry) Snapshot() Snapshot { return r.snapshot(true) }

// snapshot is Snapshot, without the sections unless withSections: the
// collector of the sections reads them apart.
func (r *Registry) snapshot(withSections bool) Snapshot {
	r.mu.Lock()
	loops := slices.Clone(r.loops)
	listeners, all := slices.Clone(r.listeners), r.openListeners
	udp := slices.Clone(r.udp)
	servers := slices.Clone(r.servers)
	pools := slices.Clone(r.pools)
	var sections []*section
	if withSections {
		sections = slices.Clone(r.sections)
	}
	wait := r.wait
	r.mu.Unlock()

	now := time.Now()
	sectionsRead := readSections(sections, wait) // while the loops are asked
	s := Snapshot{
		Time:              now,
		Uptime:            now.Sub(r.start).Seconds(),
		LatencyBounds:     seconds(latency.Bounds()),
		Loops:             readLoops(loops, wait),
		Listeners:         readListeners(listeners, all),
		UDP:               readUDP(udp, all),
		Clients:           readClients(),
		Threads:           make([]Pool, 0, len(pools)),
		UnhandledFailures: deferred.UnhandledFailures(),
		Memory:            readMemory(),
		Goroutines:        runtime.NumGoroutine(),
	}
	s.RPCServers, s.RPC = readServers(servers)
	for _, p := range pools {
		st := p.v.Stats()
		_, size := p.v.Size()
		s.Threads = append(s.Threads, Pool{Name: p.name, Size: size, Workers: st.Workers, Busy: st.Busy, Queued: st.Queued})
	}
	s.Sections = sectionsRead()
	return s
}

// readLoops asks every loop for its counters at once, so that the wait for
// a stuck loop is paid once.
func readLoops(loops []named[*reactor.Reactor], wait time.Duration) []Loop {
	out := make([]Loop, len(loops))
	var wg sync.WaitGroup
	for i, l := range loops {
		wg.Go(func() {
			st, ok := l.v.Stats(wait)
			out[i] = Loop{
				Name:          l.name,
				Responding:    ok,
				Iterations:    st.Iterations,
				Events:        st.Events,
				PostedCalls:   st.Posted,
				TimersRun:     st.TimersRun,
				TimersPending: st.TimersPending,
				Lag:           summarise(&st.Lag),
				Uptime:        st.Uptime.Seconds(),
				Busy:          st.Busy.Seconds(),
			}
			if st.Uptime > 0 {
				out[i].BusyFraction = float64(st.Busy) / float64(st.Uptime)
			}
		})
	}
	wg.Wait()
	return out
}

// summarise turns a histogram into its Snapshot form.
func summarise(c *latency.Counts) Latency {
	return Latency{
		Count:   c.Count(),
		Sum:     c.Sum.Seconds(),
		P50:     c.Quantile(0.5).Seconds(),
		P99:     c.Quantile(0.99).Seconds(),
		Max:     c.Max.Seconds(),
		Buckets: slices.Clone(c.Buckets[:]),
	}
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}
