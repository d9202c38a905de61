// Command tlsbench measures Twist's TLS echo server (ListenTLS on one loop)
// against a goroutine-per-connection crypto/tls echo server on 127.0.0.1,
// TLS 1.3 with an ECDSA P-256 certificate, and prints a table: messages/s
// and the server's CPU time per 64-byte message with connections that each
// keep one message in flight, the server's memory and goroutines per idle
// connection (after a handshake and one echo each), and its CPU time per
// full handshake; then Twist's figures as ratios to the other server's.
//
// It runs each server as a subprocess of itself (-serve=NAME), the two
// servers alternating within each round; -server-cpus and -client-cpus pin
// the servers and this process (the clients) with taskset:
//
//	go run ./cmd/tlsbench -server-cpus 0 -client-cpus 1
//	go run ./cmd/tlsbench -run tls-twist -profile /tmp/tls.pprof -idle 0 -handshakers 0 -rounds 1
//
// With -profile each server process writes its CPU profile to a file of
// its own, named after the server, the step (echo, idle, handshakes) and
// the round: /tmp/tls.pprof.tls-twist.echo.1 above. go tool pprof merges
// the rounds' files given together.
//
// With -json it prints the results as a JSON array of bench.TLSResult in
// place of the table, for cmd/benchreport.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"syscall"
	"time"

	"github.com/twistgo/twist/bench"
)

func main() {
	serve := flag.String("serve", "", "run the server `NAME` for a harness on standard input and output")
	profile := flag.String("profile", "", "with -serve: write a CPU profile to `FILE`; else each server process writes one to FILE.SERVER.STEP.ROUND")
	duration := flag.Duration("duration", 3*time.Second, "how long each load is measured")
	warmup := flag.Duration("warmup", time.Second, "how long each load runs before it is measured")
	rounds := flag.Int("rounds", 3, "measure each server this many `times` and report the medians")
	conns := flag.Int("conns", 50, "connections that each keep one message in flight")
	idle := flag.Int("idle", 2000, "idle connections to measure the servers' memory with")
	settle := flag.Duration("settle", time.Second, "how long the idle connections are held before the server's memory is read")
	handshakers := flag.Int("handshakers", 4, "clients that each handshake one connection after the other")
	run := flag.String("run", "", "run only the servers whose name (tls-twist, tls-net) matches this `regexp`")
	serverCPUs := flag.String("server-cpus", "", "pin the servers to these `CPUs` with taskset")
	clientCPUs := flag.String("client-cpus", "", "re-run this process pinned to these `CPUs` with taskset")
	jsonOut := flag.Bool("json", false, "print the results as JSON instead of a table")
	flag.Parse()

	if *serve != "" {
		if err := bench.Serve(*serve, os.Stdin, os.Stdout, *profile); err != nil {
			fail(err)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	if *clientCPUs != "" && os.Getenv("TLSBENCH_PINNED") == "" {
		args := append([]string{"-c", *clientCPUs, self}, os.Args[1:]...)
		cmd := exec.Command("taskset", args...)
		cmd.Env = append(os.Environ(), "TLSBENCH_PINNED=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(err)
		}
		return
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && uint64(*idle)+256 > lim.Max {
		fail(fmt.Errorf("-idle %d needs more descriptors than the limit, %d", *idle, lim.Max))
	}
	cfg := bench.TLSConfig{
		Warmup:      *warmup,
		Duration:    *duration,
		Rounds:      *rounds,
		Conns:       *conns,
		Idle:        *idle,
		Settle:      *settle,
		Handshakers: *handshakers,
		Log:         os.Stderr,
		Command: func(server, step string) *exec.Cmd {
			args := []string{"-serve=" + server}
			if *profile != "" {
				// A file per process: the steps and rounds do not
				// overwrite each other's profiles.
				args = append(args, "-profile="+*profile+"."+server+"."+step)
			}
			if *serverCPUs != "" {
				return exec.Command("taskset", append([]string{"-c", *serverCPUs, self}, args...)...)
			}
			return exec.Command(self, args...)
		},
	}
	if *run != "" {
		if cfg.Filter, err = regexp.Compile(*run); err != nil {
			fmt.Fprintln(os.Stderr, "tlsbench:", err)
			os.Exit(2)
		}
	}
	start := time.Now()
	results, err := bench.RunTLS(cfg)
	if *jsonOut {
		if err := bench.WriteJSON(os.Stdout, results, err); err != nil {
			fail(err)
		}
		return
	}
	fmt.Printf("tlsbench %s: TLS 1.3, ECDSA P-256; %d conns x 1 %d-byte message, %v after %v warm-up; %d idle conns; %d handshakers; median of %d rounds, servers alternating\n",
		start.Format(time.DateTime), cfg.Conns, bench.EchoSize, *duration, *warmup, cfg.Idle, cfg.Handshakers, max(*rounds, 1))
	fmt.Printf("GOMAXPROCS=%d, %d CPUs, %s/%s, %s; servers on CPUs %q, clients on %q\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), *serverCPUs, *clientCPUs)
	if werr := bench.WriteTLSTable(os.Stdout, results); werr != nil && err == nil {
		err = werr
	}
	if f, ferr := bench.MeasureFloor(bench.FloorMessages); ferr != nil {
		fmt.Fprintln(os.Stderr, "tlsbench: kernel floor:", ferr)
	} else if werr := bench.WriteTLSFloor(os.Stdout, f, results); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tlsbench:", err)
	os.Exit(1)
}
