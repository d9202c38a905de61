// Command soak runs one twistd process under every kind of traffic at once
// for a bounded time, and fails, saying why, if the server lost or
// duplicated an answer, grew, or logged an error the soak did not provoke.
//
//	soak                         # build cmd/twistd, soak it for 10 minutes
//	soak -duration 30s -svg soak.svg
//
// The process is `twistd rpc` with --mongo-port and --http-port: framed RPC,
// the MongoDB wire protocol and HTTP from one process, with short idle and
// read time-outs. Against it, all at once: a crowd of connections that each
// call once a second; pipelined calls with ids, without ids and without
// replies on both RPC protocols, each answer checked for its id and value;
// calls through the MongoDB Go driver; HTTP requests on keep-alive
// connections and with Connection: close, their bodies checked; churn,
// connections opened and closed many times a second, a share of them reset
// (SO_LINGER 0) with a call or half a message in flight; slow readers of
// big answers and files, some pausing for longer than the idle time-out,
// which must get every byte; stalled readers, which stop reading for good
// and which the server must abort with its write time-out; and idle or
// half-sent connections that the server must close within its time-outs.
//
// Every second it samples the server's resident memory, open descriptors
// and threads (/proc), its goroutines (/status.json of twistd's --status
// page) and the calls answered; after the warm-up each must stay within
// ±10% (the median of the last third of the samples against that of the
// first). At the end the load stops, every call that was sent
// must have been answered exactly once (a stalled reader's calls whose
// answers the write time-out dropped excepted, each such abort being in
// twistd's log under the connection's address), the descriptors must come back to
// their number before the load, and SIGTERM must stop twistd with status 0.
// Each line twistd logs is classified: those the soak provokes (time-outs,
// resets) are counted, and any warning or error it did not is a failure.
//
// The exit status is 1 on any failure, with every failure on standard
// error, and 0 after a clean run; either way a summary (Markdown) goes to
// standard output and, with -svg, a plot of memory, descriptors,
// goroutines and calls per second over time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg := defaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the load runs")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "the start of the run left out of the flatness checks")
	flag.StringVar(&cfg.Twistd, "twistd", "", "the twistd `binary` to soak; empty builds github.com/twistgo/twist/cmd/twistd")
	flag.StringVar(&cfg.SVG, "svg", "", "write the plot of memory, descriptors, goroutines and calls per second to this `file`")
	flag.StringVar(&cfg.CSV, "csv", "", "write the samples, one a second, to this `file`")
	flag.StringVar(&cfg.Log, "log", "", "write twistd's log (JSON lines) to this `file`")
	flag.IntVar(&cfg.Crowd, "crowd", cfg.Crowd, "connections kept open, each calling once a second")
	flag.IntVar(&cfg.ChurnRate, "churn", cfg.ChurnRate, "connections opened and closed per second")
	flag.IntVar(&cfg.CallRate, "calls", cfg.CallRate, "pipelined calls per second on each of the RPC protocols")
	flag.IntVar(&cfg.Slow, "slow", cfg.Slow, "slow readers at once")
	flag.IntVar(&cfg.Stalled, "stalled", cfg.Stalled, "readers at once that stop reading, for the server's write time-out")
	flag.IntVar(&cfg.Idle, "idle", cfg.Idle, "idle or half-sent connections at once, for the server to time out")
	flag.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "twistd's --idle-timeout")
	flag.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "twistd's --read-timeout")
	flag.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "twistd's --write-timeout")
	flag.Parse()
	cfg.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if res != nil {
		res.writeSummary(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: FAILED:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "soak: passed")
}
