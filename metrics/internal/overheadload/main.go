// Command overheadload measures what the instrumentation (issue 17: the
// loops', listeners' and RPC functions' counters) costs per round trip on
// the workloads of the echo and RPC benchmarks, and prints it as a share of
// the server's CPU time, failing if it is over 1% anywhere. make overhead
// runs it from the repository's root (about three and a half minutes on 2
// cores):
//
//	go run ./metrics/internal/overheadload
//	go run ./metrics/internal/overheadload -workloads echo -runs 3 -keep /tmp/overhead
//
// The servers are the benchmarks' own (bench/): echobench
// -serve=echo-twist-1 for the echo of 64 bytes, rpcbench -serve=twist for
// add(1, 2) over the framed protocol (the frame of rpcbench's raw client)
// and as a MongoDB OP_MSG ({add: [1, 2], $db}, the Go driver's command less
// its session); and framed64, add(1, 2) 64 in flight on one connection
// (rpcbench's "1 conn x 64"), in waves: 64 calls in one write, then their
// answers, so that the loop takes a wave per turn in both runs. Each is
// built twice from the working tree: as it is ("on"), and with the counting
// done per round trip turned into nothing by the edits of edits.go ("off"),
// through go build -overlay; an edit that no longer matches the code stops
// the run (and fails TestOffEditsApply).
//
// Each build's server runs under valgrind --tool=callgrind, taskset -c 0,
// with GODEBUG=asyncpreemptoff=1 (callgrind asserts on the runtime's
// preemption signals) and GOGC=off (the collector's cycles follow the
// clock). This program, run again as the load on CPU 1, makes -warm round
// trips with instrumentation off (enough for the runtime to have filled its
// caches of type assertions, which it does on one miss in 1,024, at random:
// with 2,000, one run in seven counted some hundreds of misses more), then
// -n with it on, one in flight on each of -conns connections (the
// benchmarks' shape), then on one connection. It prints per round trip the
// instructions of the functions of Twist's module (their own: not those of
// the runtime functions they call, whose work follows the wall clock, which
// valgrind stretches), and all of them, of each build, -runs times. Twist's
// count leaves out the poller's wait, the same code in both builds, whose
// path depends on whether the next request has arrived when the loop looks.
//
// With one connection each round trip takes a turn of the loop of its own,
// and Twist's counts repeat exactly. With many, the loop takes several round
// trips per turn, as many as have arrived, which is timing: the counts vary
// a little with the number of turns, and the per-turn counting costs less
// per round trip. The difference on less off with one connection is
// therefore the most the counting costs per round trip.
//
// It then runs the "on" server outside valgrind, pinned as above, and reads
// its user and system CPU time per round trip (getrusage) over -rounds
// windows of -window with -conns connections, medians. The share of CPU is
// the larger difference over all the instructions of a round trip (the
// fewest counted with -conns connections), times the user share of the CPU
// time (the kernel's work is the same in both builds), plus the clock reads
// and atomic adds the counting makes, at their cost measured here: a clock
// read (one turn in 16 is timed, and one RPC call in 64) is runtime code,
// outside Twist's count, and under valgrind, which hides the vDSO, a system
// call whose kernel time it does not count; an atomic add (the bytes of a
// read and of a write, an RPC call) costs more than the one instruction
// counted.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	load := flag.String("load", "", "be the load: make the round trips of `WORKLOAD` (echo, framed, mongo) to -addr and print how many")
	addr := flag.String("addr", "", "with -load: the server's `address`")
	conns := flag.Int("conns", 50, "connections, one round trip in flight on each")
	n := flag.Int("n", 20000, "round trips counted under callgrind; with -load, how many to make (0: for -window)")
	window := flag.Duration("window", 5*time.Second, "how long each timed window runs")
	warm := flag.Int("warm", 10000, "round trips before the count starts")
	runs := flag.Int("runs", 2, "callgrind runs of each build")
	rounds := flag.Int("rounds", 3, "timed windows of each workload, of which the median is taken")
	only := flag.String("workloads", "echo,framed,mongo,framed64", "the `workloads` measured, comma-separated")
	keep := flag.String("keep", "", "keep the builds and the callgrind files in `DIR`")
	flag.Parse()

	if *load != "" {
		w, ok := workloads[*load]
		if !ok {
			fail(fmt.Errorf("no workload %q", *load))
		}
		made, err := w.run(*addr, *conns, *n, *window)
		if err != nil {
			fail(err)
		}
		fmt.Println(made)
		return
	}
	cfg := config{conns: *conns, n: *n, warm: *warm, runs: *runs, rounds: *rounds, window: *window, keep: *keep}
	for _, name := range strings.Split(*only, ",") {
		if _, ok := workloads[name]; !ok {
			fail(fmt.Errorf("no workload %q", name))
		}
		cfg.workloads = append(cfg.workloads, name)
	}
	if err := report(os.Stdout, cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "overheadload:", err)
	os.Exit(1)
}
