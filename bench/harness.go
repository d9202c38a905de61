package bench

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"time"
)

// The shapes of load: Conns connections with one call in flight on each,
// and InFlight calls in flight on one connection.
const (
	Conns    = 50
	InFlight = 64
)

// The shapes, as the table names them.
var (
	shapeConns    = fmt.Sprintf("%d conns x 1", Conns)
	shapeInFlight = fmt.Sprintf("1 conn x %d", InFlight)
	shapePool     = fmt.Sprintf("%d goroutines, pool", Conns)
)

// The systems, as the table names them.
const (
	SystemTwistRaw    = "twist framed, raw client"
	SystemTwistClient = "twist framed, rpc.Client"
	SystemTwistMongo  = "twist mongowire, Go driver"
	SystemNetRPC      = "net/rpc gob"
	SystemGRPC        = "gRPC proto"
)

// Config says what Run measures and how.
type Config struct {
	// Warmup is how long each shape runs before it is measured, and
	// Duration how long it is measured.
	Warmup, Duration time.Duration
	// Rounds is how many times each case is measured (at least once).
	Rounds int
	// Filter, if not nil, selects the cases to run by "system/shape".
	Filter *regexp.Regexp
	// Command returns the command that runs the server named by one of
	// the Server constants: a process that calls Serve with its standard
	// input and output.
	Command func(server string) *exec.Cmd
	// Log, if not nil, is told of each case as it starts.
	Log io.Writer
}

// Result is what one case measured.
type Result struct {
	System, Shape string
	// Calls is the number of calls that started in the measured window
	// and were answered.
	Calls    int
	Window   time.Duration
	P50, P99 time.Duration
	// ServerCPU and ServerSys are the server process's user and system
	// CPU time over the window.
	ServerCPU, ServerSys time.Duration
	// ClientCPU is the harness process's CPU time, user and system, over
	// the window: what the clients cost, to tell a slow server from a
	// slow client (the Go driver's).
	ClientCPU time.Duration
}

// CallsPerSecond is the throughput over the window.
func (r Result) CallsPerSecond() float64 { return float64(r.Calls) / r.Window.Seconds() }

// CPUPerCall is the server's user CPU time per call, in nanoseconds.
func (r Result) CPUPerCall() float64 { return r.perCall(r.ServerCPU) }

// SysPerCall is the server's system CPU time per call, in nanoseconds.
func (r Result) SysPerCall() float64 { return r.perCall(r.ServerSys) }

// ClientPerCall is the clients' CPU time per call, in nanoseconds.
func (r Result) ClientPerCall() float64 { return r.perCall(r.ClientCPU) }

func (r Result) perCall(d time.Duration) float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(d.Nanoseconds()) / float64(r.Calls)
}

// clientCase is one row of the table: a client shape against one of a
// server's listeners.
type clientCase struct {
	server, listen string
	system, shape  string
	// goroutines each make one call after another, goroutine i on
	// connection i % conns; dial makes the conns connections and
	// returns a call on each and what closes them all.
	conns, goroutines int
	dial              dialFunc
	// pipelined cases instead keep InFlight calls in flight on one
	// framed connection with framedPipeline.
	pipelined bool
}

// cases lists every row of the table, grouped by server.
func cases() []clientCase {
	return []clientCase{
		{server: ServerTwist, listen: listenFramed, system: SystemTwistRaw, shape: shapeConns, conns: Conns, goroutines: Conns, dial: framedDial},
		{server: ServerTwist, listen: listenFramed, system: SystemTwistRaw, shape: shapeInFlight, pipelined: true},
		{server: ServerTwist, listen: listenFramed, system: SystemTwistClient, shape: shapeConns, conns: Conns, goroutines: Conns, dial: twistDial},
		{server: ServerTwist, listen: listenFramed, system: SystemTwistClient, shape: shapeInFlight, conns: 1, goroutines: InFlight, dial: twistDial},
		{server: ServerTwist, listen: listenMongo, system: SystemTwistMongo, shape: shapePool, conns: 1, goroutines: Conns, dial: mongoDial(Conns)},
		{server: ServerNetRPC, listen: listenNetRPC, system: SystemNetRPC, shape: shapeConns, conns: Conns, goroutines: Conns, dial: netRPCDial},
		{server: ServerNetRPC, listen: listenNetRPC, system: SystemNetRPC, shape: shapeInFlight, conns: 1, goroutines: InFlight, dial: netRPCDial},
		{server: ServerGRPC, listen: listenGRPC, system: SystemGRPC, shape: shapeConns, conns: Conns, goroutines: Conns, dial: grpcDial},
		{server: ServerGRPC, listen: listenGRPC, system: SystemGRPC, shape: shapeInFlight, conns: 1, goroutines: InFlight, dial: grpcDial},
	}
}

// calls connects c's clients to addr and returns the call of each
// goroutine, and what closes the connections.
func (c clientCase) calls(addr string) ([]callFunc, func(), error) {
	conns, closeAll, err := c.dial(addr, c.conns)
	if err != nil {
		return nil, nil, err
	}
	calls := make([]callFunc, c.goroutines)
	for i := range calls {
		calls[i] = conns[i%len(conns)]
	}
	return calls, closeAll, nil
}

// loads connects c's clients to addr and returns their loads.
func (c clientCase) loads(addr string) ([]loadFunc, func(), error) {
	if c.pipelined {
		load, closeConn, err := framedPipeline(addr, InFlight)
		if err != nil {
			return nil, nil, err
		}
		return []loadFunc{load}, closeConn, nil
	}
	calls, closeAll, err := c.calls(addr)
	if err != nil {
		return nil, nil, err
	}
	loads := make([]loadFunc, len(calls))
	for i, call := range calls {
		loads[i] = loop(call)
	}
	return loads, closeAll, nil
}

// Run measures every case that cfg's filter selects, one server process at
// a time, cfg.Rounds times over, and returns for each case the round of
// median calls/s, in the order of the table. The rounds go through every
// server in turn, so that what else the machine does falls on them all.
func Run(cfg Config) ([]Result, error) {
	var selected []clientCase
	for _, c := range cases() {
		if cfg.Filter == nil || cfg.Filter.MatchString(c.system+"/"+c.shape) {
			selected = append(selected, c)
		}
	}
	rounds := make([][]Result, len(selected))
	for round := range max(cfg.Rounds, 1) {
		for _, server := range []string{ServerTwist, ServerNetRPC, ServerGRPC} {
			if err := runServer(cfg, server, round, selected, rounds); err != nil {
				return nil, err
			}
		}
	}
	results := make([]Result, 0, len(selected))
	for _, rs := range rounds {
		slices.SortFunc(rs, func(a, b Result) int { return a.Calls - b.Calls })
		results = append(results, rs[len(rs)/2])
	}
	return results, nil
}

// runServer starts server and runs the selected cases against it, adding
// each case's result to its list in rounds.
func runServer(cfg Config, server string, round int, selected []clientCase, rounds [][]Result) error {
	var p *serverProcess
	for i, c := range selected {
		if c.server != server {
			continue
		}
		if p == nil {
			var err error
			if p, err = startServer(cfg.Command(server)); err != nil {
				return fmt.Errorf("bench: starting the %s server: %w", server, err)
			}
		}
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "round %d: %s, %s...\n", round+1, c.system, c.shape)
		}
		r, err := runCase(cfg, p, c)
		if err != nil {
			p.close()
			return fmt.Errorf("bench: %s, %s: %w", c.system, c.shape, err)
		}
		rounds[i] = append(rounds[i], r)
	}
	if p == nil {
		return nil
	}
	if err := p.close(); err != nil {
		return fmt.Errorf("bench: the %s server: %w", server, err)
	}
	return nil
}

// runCase connects c's clients to p, runs them through the warm-up and the
// window, and reads p's CPU time at both ends of the window.
func runCase(cfg Config, p *serverProcess, c clientCase) (Result, error) {
	loads, closeClients, err := c.loads(p.addrs[c.listen])
	if err != nil {
		return Result{}, err
	}
	defer closeClients()
	from := time.Now().Add(cfg.Warmup)
	until := from.Add(cfg.Duration)
	lats := make([][]int64, len(loads))
	errs := make([]error, len(loads))
	var wg sync.WaitGroup
	for i, load := range loads {
		wg.Go(func() { lats[i], errs[i] = load(from, until) })
	}
	// The harness waits for the clock, not for the loads: they stop by
	// themselves at until.
	time.Sleep(time.Until(from))
	cpu0, err0 := p.cpu()
	self0 := selfCPU()
	time.Sleep(time.Until(until))
	cpu1, err1 := p.cpu()
	self1 := selfCPU()
	wg.Wait()
	if err := errors.Join(append(errs, err0, err1)...); err != nil {
		return Result{}, err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := Result{System: c.system, Shape: c.shape, Calls: len(all), Window: cfg.Duration, ServerCPU: cpu1.user - cpu0.user, ServerSys: cpu1.sys - cpu0.sys, ClientCPU: self1 - self0}
	if len(all) > 0 {
		r.P50 = time.Duration(all[len(all)*50/100])
		r.P99 = time.Duration(all[len(all)*99/100])
	}
	return r, nil
}

// A Goal is one of the targets for a row of the table, against
// net/rpc in the same run.
type Goal struct {
	System, Shape string
	// Ratio is the least calls/s over net/rpc's in the same shape (the
	// driver's pool of Conns goroutines compares with Conns connections).
	Ratio float64
	// CPUPerCall, if not zero, is the most server user CPU per call, in
	// nanoseconds.
	CPUPerCall float64
}

// Goals are the targets WriteTable checks: add(1, 2) through the raw framed
// client on Conns connections, through rpc.Client with InFlight calls on
// one connection (net/rpc's Client does the same), and through the official
// Go MongoDB driver.
var Goals = []Goal{
	{System: SystemTwistRaw, Shape: shapeConns, Ratio: 1.8, CPUPerCall: 1000},
	{System: SystemTwistClient, Shape: shapeInFlight, Ratio: 1.5},
	{System: SystemTwistMongo, Shape: shapePool, Ratio: 1.0},
}

// WriteTable writes results as a table, with each row's calls/s as a ratio
// to net/rpc's in the same shape, then how the rows compare with Goals. It
// returns w's first error.
func WriteTable(w io.Writer, results []Result) error {
	ew := &errWriter{w: w}
	w = ew
	netrpc := map[string]float64{}
	netrpcClient := map[string]float64{}
	for _, r := range results {
		if r.System == SystemNetRPC {
			netrpc[r.Shape] = r.CallsPerSecond()
			netrpcClient[r.Shape] = r.ClientPerCall()
		}
	}
	// The driver's pool of Conns goroutines compares with Conns connections.
	netrpc[shapePool] = netrpc[shapeConns]
	netrpcClient[shapePool] = netrpcClient[shapeConns]
	const row = "%-28s %-20s %9s %9s %9s %9s %9s %10s %10s\n"
	fmt.Fprintf(w, row, "system", "shape", "calls/s", "p50", "p99", "user ns", "sys ns", "client ns", "vs net/rpc")
	for _, r := range results {
		ratio := "-"
		if base := netrpc[r.Shape]; base > 0 {
			ratio = fmt.Sprintf("%.2fx", r.CallsPerSecond()/base)
		}
		fmt.Fprintf(w, row, r.System, r.Shape, fmt.Sprintf("%.0f", r.CallsPerSecond()),
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond),
			fmt.Sprintf("%.0f", r.CPUPerCall()), fmt.Sprintf("%.0f", r.SysPerCall()), fmt.Sprintf("%.0f", r.ClientPerCall()), ratio)
	}
	fmt.Fprintln(w, "user ns, sys ns: the server process's user and system CPU time per call; client ns: the clients' (this process's) user+system CPU time per call")
	for _, g := range Goals {
		i := slices.IndexFunc(results, func(r Result) bool { return r.System == g.System && r.Shape == g.Shape })
		if i < 0 {
			continue
		}
		r := results[i]
		if base := netrpc[r.Shape]; base > 0 {
			ratio := r.CallsPerSecond() / base
			fmt.Fprintf(w, "goal %s, %s: %.2fx net/rpc, want >= %.1fx: %s", r.System, r.Shape, ratio, g.Ratio, verdict(ratio >= g.Ratio))
			// With the clients on fewer CPUs than they could use, calls/s
			// follow the clients' CPU per call: say how the two compare.
			if client := netrpcClient[r.Shape]; client > 0 && r.ClientCPU > 0 {
				fmt.Fprintf(w, " (client CPU per call %.2fx net/rpc's)", r.ClientPerCall()/client)
			}
			fmt.Fprintln(w)
		}
		if g.CPUPerCall > 0 {
			cpu := r.CPUPerCall()
			fmt.Fprintf(w, "goal %s, %s: %.0f server user CPU ns/call, want <= %.0f: %s\n", r.System, r.Shape, cpu, g.CPUPerCall, verdict(cpu <= g.CPUPerCall))
		}
	}
	return ew.err
}

// errWriter is a writer that remembers its first error and then writes
// nothing more.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

// selfCPU is this process's user and system CPU time so far: the clients'.
func selfCPU() time.Duration {
	user, sys := selfTimes()
	return user + sys
}

// selfTimes is this process's user and system CPU time so far (zero if
// the system will not say).
func selfTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
