package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/rpc"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"text/tabwriter"
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
	// ServerCPU is the server process's user CPU time over the window.
	ServerCPU time.Duration
}

// CallsPerSecond is the throughput over the window.
func (r Result) CallsPerSecond() float64 { return float64(r.Calls) / r.Window.Seconds() }

// CPUPerCall is the server's user CPU time per call, in nanoseconds.
func (r Result) CPUPerCall() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.ServerCPU.Nanoseconds()) / float64(r.Calls)
}

// clientCase is one row of the table: a client shape against one of a
// server's listeners.
type clientCase struct {
	server, listen string
	system, shape  string
	// setup connects the clients to addr and returns their loads and
	// what closes them.
	setup func(addr string) ([]loadFunc, func(), error)
}

// cases lists every row of the table, grouped by server.
func cases() []clientCase {
	return []clientCase{
		{ServerTwist, listenFramed, SystemTwistRaw, shapeConns, func(addr string) ([]loadFunc, func(), error) {
			return perConn(Conns, func() (callFunc, func(), error) { return framedConn(addr) })
		}},
		{ServerTwist, listenFramed, SystemTwistRaw, shapeInFlight, func(addr string) ([]loadFunc, func(), error) {
			load, closeConn, err := framedPipeline(addr, InFlight)
			if err != nil {
				return nil, nil, err
			}
			return []loadFunc{load}, closeConn, nil
		}},
		{ServerTwist, listenFramed, SystemTwistClient, shapeConns, func(addr string) ([]loadFunc, func(), error) {
			clients, closeAll, err := twistClients(addr, Conns)
			if err != nil {
				return nil, nil, err
			}
			var loads []loadFunc
			for _, c := range clients {
				loads = append(loads, loop(twistCall(c)))
			}
			return loads, closeAll, nil
		}},
		{ServerTwist, listenFramed, SystemTwistClient, shapeInFlight, func(addr string) ([]loadFunc, func(), error) {
			clients, closeAll, err := twistClients(addr, 1)
			if err != nil {
				return nil, nil, err
			}
			return shared(InFlight, twistCall(clients[0])), closeAll, nil
		}},
		{ServerTwist, listenMongo, SystemTwistMongo, shapePool, func(addr string) ([]loadFunc, func(), error) {
			c, err := mongoClient(addr, Conns)
			if err != nil {
				return nil, nil, err
			}
			return shared(Conns, mongoCall(c)), func() { _ = c.Disconnect(context.Background()) }, nil
		}},
		{ServerNetRPC, listenNetRPC, SystemNetRPC, shapeConns, func(addr string) ([]loadFunc, func(), error) {
			return perConn(Conns, func() (callFunc, func(), error) {
				c, err := rpc.Dial("tcp", addr)
				if err != nil {
					return nil, nil, err
				}
				return netRPCCall(c), func() { c.Close() }, nil
			})
		}},
		{ServerNetRPC, listenNetRPC, SystemNetRPC, shapeInFlight, func(addr string) ([]loadFunc, func(), error) {
			c, err := rpc.Dial("tcp", addr)
			if err != nil {
				return nil, nil, err
			}
			return shared(InFlight, netRPCCall(c)), func() { c.Close() }, nil
		}},
		{ServerGRPC, listenGRPC, SystemGRPC, shapeConns, func(addr string) ([]loadFunc, func(), error) {
			return perConn(Conns, func() (callFunc, func(), error) {
				c, err := grpcConn(addr)
				if err != nil {
					return nil, nil, err
				}
				return grpcCall(c), func() { c.Close() }, nil
			})
		}},
		{ServerGRPC, listenGRPC, SystemGRPC, shapeInFlight, func(addr string) ([]loadFunc, func(), error) {
			c, err := grpcConn(addr)
			if err != nil {
				return nil, nil, err
			}
			return shared(InFlight, grpcCall(c)), func() { _ = c.Close() }, nil
		}},
	}
}

// perConn makes n connections with dial and a load on each.
func perConn(n int, dial func() (callFunc, func(), error)) ([]loadFunc, func(), error) {
	var (
		loads  []loadFunc
		closes []func()
	)
	closeAll := func() {
		for _, c := range closes {
			c()
		}
	}
	for range n {
		call, closeConn, err := dial()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		loads = append(loads, loop(call))
		closes = append(closes, closeConn)
	}
	return loads, closeAll, nil
}

// shared returns n loads making the same call, so n goroutines with a call
// in flight each share whatever call uses.
func shared(n int, call callFunc) []loadFunc {
	loads := make([]loadFunc, n)
	for i := range loads {
		loads[i] = loop(call)
	}
	return loads
}

// Run measures every case that cfg's filter selects, one server process at
// a time, and returns the results in the order of the table.
func Run(cfg Config) ([]Result, error) {
	var results []Result
	all := cases()
	for _, server := range []string{ServerTwist, ServerNetRPC, ServerGRPC} {
		var mine []clientCase
		for _, c := range all {
			if c.server == server && (cfg.Filter == nil || cfg.Filter.MatchString(c.system+"/"+c.shape)) {
				mine = append(mine, c)
			}
		}
		if len(mine) == 0 {
			continue
		}
		p, err := startServer(cfg.Command(server))
		if err != nil {
			return results, fmt.Errorf("bench: starting the %s server: %w", server, err)
		}
		for _, c := range mine {
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "%s, %s...\n", c.system, c.shape)
			}
			r, err := runCase(cfg, p, c)
			if err != nil {
				p.close()
				return results, fmt.Errorf("bench: %s, %s: %w", c.system, c.shape, err)
			}
			results = append(results, r)
		}
		if err := p.close(); err != nil {
			return results, fmt.Errorf("bench: the %s server: %w", server, err)
		}
	}
	return results, nil
}

// runCase connects c's clients to p, runs them through the warm-up and the
// window, and reads p's CPU time at both ends of the window.
func runCase(cfg Config, p *serverProcess, c clientCase) (Result, error) {
	loads, closeClients, err := c.setup(p.addrs[c.listen])
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
	time.Sleep(time.Until(until))
	cpu1, err1 := p.cpu()
	wg.Wait()
	if err := errors.Join(append(errs, err0, err1)...); err != nil {
		return Result{}, err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := Result{System: c.system, Shape: c.shape, Calls: len(all), Window: cfg.Duration, ServerCPU: cpu1 - cpu0}
	if len(all) > 0 {
		r.P50 = time.Duration(all[len(all)*50/100])
		r.P99 = time.Duration(all[len(all)*99/100])
	}
	return r, nil
}

// Goals are the targets for the framed protocol, against net/rpc.
const (
	GoalConnsRatio    = 1.3  // calls/s over net/rpc's with Conns connections
	GoalInFlightRatio = 1.5  // calls/s over net/rpc's with InFlight calls on one connection
	GoalCPUPerCall    = 1000 // server user CPU ns per call, at most
)

// WriteTable writes results as a table, with each row's calls/s as a ratio
// to net/rpc's in the same shape, then how the raw framed client's rows
// compare with the goals.
func WriteTable(w io.Writer, results []Result) error {
	netrpc := map[string]float64{}
	for _, r := range results {
		if r.System == SystemNetRPC {
			netrpc[r.Shape] = r.CallsPerSecond()
		}
	}
	// The driver's pool of Conns goroutines compares with Conns connections.
	netrpc[shapePool] = netrpc[shapeConns]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tshape\tcalls/s\tp50\tp99\tserver CPU ns/call\tvs net/rpc\t")
	for _, r := range results {
		ratio := "-"
		if base := netrpc[r.Shape]; base > 0 {
			ratio = fmt.Sprintf("%.2fx", r.CallsPerSecond()/base)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%v\t%v\t%.0f\t%s\t\n", r.System, r.Shape, r.CallsPerSecond(),
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.CPUPerCall(), ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.System != SystemTwistRaw {
			continue
		}
		goal := GoalConnsRatio
		if r.Shape == shapeInFlight {
			goal = GoalInFlightRatio
		}
		if base := netrpc[r.Shape]; base > 0 {
			ratio := r.CallsPerSecond() / base
			fmt.Fprintf(w, "goal %s: %.2fx net/rpc, want >= %.1fx: %s\n", r.Shape, ratio, goal, verdict(ratio >= goal))
		}
		cpu := r.CPUPerCall()
		fmt.Fprintf(w, "goal %s: %.0f server CPU ns/call, want <= %d: %s\n", r.Shape, cpu, GoalCPUPerCall, verdict(cpu <= GoalCPUPerCall))
	}
	return nil
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}
