// Command rpcbench measures Twist's RPC against net/rpc and gRPC on
// 127.0.0.1 and prints a table: calls/s, latency percentiles and the
// server's user CPU time per call for each system and shape of load.
//
// It runs each server as a subprocess of itself (-serve=NAME) and the
// clients in its own process:
//
//	go run ./cmd/rpcbench -duration 5s -warmup 1s -rounds 3
//	go run ./cmd/rpcbench -run 'raw client/50 conns' -rounds 1 -serverprofile /tmp/twist.pprof
//	taskset -c 1 go run ./cmd/rpcbench -servercpus 0 -run '1 conn x 64'  # clients on CPU 1, servers on CPU 0
//	go run ./cmd/rpcbench -run mongo -clientprofile /tmp/driver.pprof  # where the Go driver's time goes
//	go run ./cmd/rpcbench -load 127.0.0.1:9000 -calls 20000  # a fixed number of framed calls, 50 conns x 1 (see callgrind.sh)
//
// With -json it prints the results as a JSON array of bench.Result in place
// of the table, for cmd/benchreport.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/twistgo/twist/bench"
)

func main() {
	serve := flag.String("serve", "", "run the server `NAME` (twist, netrpc, grpc) for a harness on standard input and output")
	duration := flag.Duration("duration", 5*time.Second, "how long each case is measured")
	warmup := flag.Duration("warmup", time.Second, "how long each case runs before it is measured")
	rounds := flag.Int("rounds", 3, "measure each case this many `times` and report the round of median calls/s")
	run := flag.String("run", "", "run only the cases whose \"system/shape\" matches this `regexp`")
	profile := flag.String("serverprofile", "", "write each server's CPU profile (of the last round) to `FILE`.NAME")
	cpuprofile := flag.String("cpuprofile", "", "with -serve: write the server's CPU profile to `FILE`")
	clientProfile := flag.String("clientprofile", "", "write the CPU profile of this process, the clients, to `FILE`")
	serverCPUs := flag.String("servercpus", "", "run the servers on these `CPUS` only, with taskset -c (run rpcbench itself under taskset -c with others)")
	jsonOut := flag.Bool("json", false, "print the results as JSON instead of a table")
	load := flag.String("load", "", "make -calls framed calls of add(1, 2) to the server at `ADDR`, bench.Conns connections with one in flight each, and exit")
	calls := flag.Int("calls", 20000, "with -load: how many `calls`")
	flag.Parse()

	if *load != "" {
		took, err := bench.CallFramed(*load, bench.Conns, *calls)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rpcbench:", err)
			os.Exit(1)
		}
		fmt.Printf("%d calls in %v\n", *calls, took)
		return
	}

	if *serve != "" {
		if err := bench.Serve(*serve, os.Stdin, os.Stdout, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "rpcbench:", err)
			os.Exit(1)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rpcbench:", err)
		os.Exit(1)
	}
	cfg := bench.Config{
		Warmup:   *warmup,
		Duration: *duration,
		Rounds:   *rounds,
		Log:      os.Stderr,
		Command: func(server string) *exec.Cmd {
			args := []string{"-serve=" + server}
			if *profile != "" {
				args = append(args, "-cpuprofile="+*profile+"."+server)
			}
			if *serverCPUs != "" {
				return exec.Command("taskset", append([]string{"-c", *serverCPUs, self}, args...)...)
			}
			return exec.Command(self, args...)
		},
	}
	if *run != "" {
		if cfg.Filter, err = regexp.Compile(*run); err != nil {
			fmt.Fprintln(os.Stderr, "rpcbench:", err)
			os.Exit(2)
		}
	}
	if *clientProfile != "" {
		f, err := os.Create(*clientProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "rpcbench:", err)
			os.Exit(1)
		}
		defer f.Close()
	}
	start := time.Now()
	results, err := bench.Run(cfg)
	pprof.StopCPUProfile()
	if *jsonOut {
		if err := bench.WriteJSON(os.Stdout, results, err); err != nil {
			fmt.Fprintln(os.Stderr, "rpcbench:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("rpcbench %s, %v per case after %v warm-up, median of %d rounds, GOMAXPROCS=%d, %s/%s\n",
		start.Format(time.DateTime), *duration, *warmup, max(*rounds, 1), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	if werr := bench.WriteTable(os.Stdout, results); werr != nil && err == nil {
		err = werr
	}
	if f, ferr := bench.MeasureFloor(bench.FloorMessages); ferr != nil {
		fmt.Fprintln(os.Stderr, "rpcbench: kernel floor:", ferr)
	} else if werr := bench.WriteFloor(os.Stdout, f, results); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rpcbench:", err)
		os.Exit(1)
	}
}
