// Command benchreport runs every workload of the bench module against its
// peers in one run and writes docs/benchmarks.md: a table per workload with
// each figure as a ratio to the best peer's, the machine, the versions, the
// commands, and SVG charts of CPU per operation and memory per connection.
//
// It builds the harnesses (cmd/echobench, cmd/rpcbench, cmd/httpbench,
// cmd/tlsbench, cmd/crawlbench, and the test binaries of this module and
// of the deferred package), runs each with -json (or go test's benchmark
// output) and the same rounds, and keeps their medians. The harnesses take the servers in turn
// within each round (A B C A B C); every server runs pinned to CPU 0 with
// taskset and the load to CPU 1. `make bench` runs it:
//
//	cd bench && go run ./cmd/benchreport -out ../docs/benchmarks.md
//	go run ./cmd/benchreport -rounds 3 -run 'echo|rpc' -out /tmp/b.md
//	go run ./cmd/benchreport -short -out /tmp/b.md   # seconds: proves the harnesses, not the speed
//
// It needs taskset (util-linux) and, for the HTTP server workloads, wrk; a
// family whose tool is missing is listed in the report as not measured.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// The CPUs the servers and the loads are pinned to.
const (
	serverCPU = "0"
	loadCPU   = "1"
)

// config says what run measures and where it writes.
type config struct {
	rounds           int
	duration, warmup time.Duration
	// idle is the number of idle connections for the echo memory
	// figure; tlsIdle and httpIdle for TLS's and HTTP's.
	idle, tlsIdle, httpIdle int
	// benchtime is each Go benchmark's -test.benchtime.
	benchtime string
	// filter selects the families (echo, rpc, http, httpclient, tls, crawl,
	// micro) to run.
	filter *regexp.Regexp
	// out is the Markdown file, written with its charts beside it.
	out string
	// command is how the report says it was made, and note a remark for
	// its head.
	command, note string
	short         bool
}

func main() {
	rounds := flag.Int("rounds", 5, "measure every workload this many `times` and report the medians")
	duration := flag.Duration("duration", 2*time.Second, "how long each load is measured (wrk's is rounded up to whole seconds)")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "how long each load runs before it is measured")
	idle := flag.Int("idle", 10000, "idle connections for the echo servers' memory per connection")
	families := flag.String("run", "", "run only the families (echo, rpc, http, httpclient, tls, crawl, micro) matching this `regexp`")
	out := flag.String("out", "benchmarks.md", "write the report to this `file`, and its SVG charts beside it")
	note := flag.String("note", "", "a remark for the head of the report, such as why it has fewer rounds")
	short := flag.Bool("short", false, "one round of tiny loads: proves the harnesses and the charts work, measures nothing worth reading")
	flag.Parse()

	cfg := config{
		rounds:    *rounds,
		duration:  *duration,
		warmup:    *warmup,
		idle:      *idle,
		tlsIdle:   2000,
		httpIdle:  2000,
		benchtime: "500ms",
		out:       *out,
		note:      *note,
		command:   strings.Join(append([]string{"cd bench && go run ./cmd/benchreport"}, os.Args[1:]...), " "),
	}
	if *short {
		cfg = shortConfig(cfg)
	}
	var err error
	if cfg.filter, err = regexp.Compile(*families); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(2)
	}
	if err := run(cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// shortConfig is cfg cut down to seconds in all.
func shortConfig(cfg config) config {
	cfg.short = true
	cfg.rounds = 1
	cfg.duration = 300 * time.Millisecond
	cfg.warmup = 50 * time.Millisecond
	cfg.idle, cfg.tlsIdle, cfg.httpIdle = 50, 20, 20
	cfg.benchtime = "20x"
	return cfg
}
