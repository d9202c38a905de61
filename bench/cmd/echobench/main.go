// Command echobench measures Twist's TCP echo server against gnet's, nbio's
// and the net package's on 127.0.0.1 and prints a table: messages/s, the
// server's user and system CPU time per message with connections that each
// keep one 64-byte message in flight, and the server's memory per idle
// connection; then Twist's figures as ratios to each other server's.
//
// It runs each server as a subprocess of itself (-serve=NAME) and the
// clients in its own process:
//
//	go run ./cmd/echobench
//	go run ./cmd/echobench -run 'twist|gnet' -rounds 1 -idle 0
//	go run ./cmd/echobench -run 'twist-2' -rounds 1 -idle 0 -serverprofile /tmp/echo.pprof
//
// With -json it prints the results as a JSON array of bench.EchoResult in
// place of the table, for cmd/benchreport.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/twistgo/twist/bench"
)

func main() {
	serve := flag.String("serve", "", "run the echo server `NAME` for a harness on standard input and output")
	duration := flag.Duration("duration", 5*time.Second, "how long the load is measured")
	warmup := flag.Duration("warmup", time.Second, "how long the load runs before it is measured")
	rounds := flag.Int("rounds", 3, "measure each server this many `times` and report the medians")
	conns := flag.Int("conns", 50, "connections that each keep one message in flight")
	size := flag.Int("size", bench.EchoSize, "the size of each message, in `bytes`")
	pipeline := flag.Int("pipeline", 1, "messages each connection writes at once before reading them back")
	jsonOut := flag.Bool("json", false, "print the results as JSON instead of a table")
	cpus := flag.String("server-cpus", "", "run the servers pinned to these CPUs (taskset's `list`, such as 0); the load runs where this program does")
	idle := flag.Int("idle", 10000, "idle connections to measure the servers' memory with")
	settle := flag.Duration("settle", 500*time.Millisecond, "how long the idle connections are held before the server's memory is read")
	profile := flag.String("serverprofile", "", "write each server's CPU profile (of its last process) to `FILE`.NAME")
	cpuprofile := flag.String("cpuprofile", "", "with -serve: write the server's CPU profile to `FILE`")
	run := flag.String("run", "", "run only the servers whose name (echo-twist-1, echo-gnet-2, echo-net...) matches this `regexp`")
	flag.Parse()

	if *serve != "" {
		if err := bench.Serve(*serve, os.Stdin, os.Stdout, *cpuprofile); err != nil {
			fail(err)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cfg := bench.EchoConfig{
		Warmup:   *warmup,
		Duration: *duration,
		Rounds:   *rounds,
		Conns:    *conns,
		Size:     *size,
		Pipeline: *pipeline,
		Idle:     *idle,
		Settle:   *settle,
		Log:      os.Stderr,
		Command: func(server string) *exec.Cmd {
			args := []string{self, "-serve=" + server}
			if *profile != "" {
				args = append(args, "-cpuprofile="+*profile+"."+server)
			}
			if *cpus != "" {
				args = append([]string{"taskset", "-c", *cpus}, args...)
			}
			return exec.Command(args[0], args[1:]...)
		},
	}
	if *run != "" {
		if cfg.Filter, err = regexp.Compile(*run); err != nil {
			fmt.Fprintln(os.Stderr, "echobench:", err)
			os.Exit(2)
		}
	}
	// The Go runtime raises the soft limit on descriptors to the hard one,
	// in this process and in the servers.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail(err)
	}
	var note string
	if most := bench.MaxIdleConns(lim.Max); cfg.Idle > most {
		note = fmt.Sprintf(" (asked for %d: the descriptor limit, %d, holds no more)", cfg.Idle, lim.Max)
		cfg.Idle = most
	}
	start := time.Now()
	results, err := bench.RunEcho(cfg)
	if *jsonOut {
		if err := bench.WriteJSON(os.Stdout, results, err); err != nil {
			fail(err)
		}
		return
	}
	fmt.Printf("echobench %s: %d conns x %d %d-byte message, %v after %v warm-up; %d idle conns%s; median of %d rounds\n",
		start.Format(time.DateTime), cfg.Conns, max(cfg.Pipeline, 1), cfg.Size, *duration, *warmup, cfg.Idle, note, max(*rounds, 1))
	fmt.Printf("GOMAXPROCS=%d, %d CPUs, %s/%s, %s%s\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), versions())
	if werr := bench.WriteEchoTable(os.Stdout, results); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fail(err)
	}
}

// versions lists the versions of the peers' modules this binary was built
// with.
func versions() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var s string
	for _, m := range info.Deps {
		switch m.Path {
		case "github.com/panjf2000/gnet/v2", "github.com/lesismal/nbio":
			s += ", " + m.Path + " " + m.Version
		}
	}
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "echobench:", err)
	os.Exit(1)
}
