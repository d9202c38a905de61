// Command httpbench measures Twist's HTTP server (package web) against
// net/http, fasthttp and nbio's nbhttp with wrk: a small static response,
// 50 keep-alive connections, the server pinned to CPU 0 and wrk to CPU 1,
// the servers taken in turn each round. It reports requests/s and the
// server's CPU time (user+system, from /proc/PID/stat) per request, the
// median of the rounds, and Twist's CPU per request as a ratio to each
// peer's.
//
//	go run ./cmd/httpbench
//	go run ./cmd/httpbench -rounds 1 -duration 3s -run 'twist|fasthttp'
//
// With -idle N it measures memory instead: the growth of each server's
// resident memory per keep-alive connection left idle after one request,
// with N connections (raise ulimit -n above N):
//
//	go run ./cmd/httpbench -idle 2000 -run 'twist|nbhttp'
//
// With -json it prints the medians as a JSON array of bench.HTTPResult in
// place of the table, for cmd/benchreport.
//
// The client's speed against net/http's client is BenchmarkHTTPClient in
// package bench.
//
// It needs wrk and taskset (Debian packages wrk and util-linux).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/valyala/fasthttp"

	"github.com/twistgo/twist/bench"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web"
)

// body is the static response every server sends.
var body = []byte("Hello, World!")

var servers = []string{"twist", "fasthttp", "nbhttp", "nethttp"}

func main() {
	serve := flag.String("serve", "", "run the server `NAME` on -addr and print its address")
	addr := flag.String("addr", "127.0.0.1:0", "address for -serve")
	duration := flag.Duration("duration", 5*time.Second, "how long wrk's load is measured")
	warmup := flag.Duration("warmup", time.Second, "wrk run before the measured one")
	rounds := flag.Int("rounds", 3, "rounds; the medians are reported")
	idle := flag.Int("idle", 0, "instead of wrk's load, measure the servers' resident memory per idle keep-alive connection with this `many` connections")
	conns := flag.Int("conns", 50, "wrk's connections")
	run := flag.String("run", "", "measure only the servers matching this `regexp`")
	jsonOut := flag.Bool("json", false, "print the results as JSON instead of a table")
	flag.Parse()
	if *serve != "" {
		if err := serveOne(*serve, *addr); err != nil {
			fmt.Fprintln(os.Stderr, "httpbench:", err)
			os.Exit(1)
		}
		return
	}
	filter := regexp.MustCompile(*run)
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	if *idle > 0 {
		if err := idleMemory(self, filter, *idle, *rounds, *jsonOut); err != nil {
			fail(err)
		}
		return
	}
	results := map[string][]sample{}
	for round := range *rounds {
		for _, name := range servers {
			if !filter.MatchString(name) {
				continue
			}
			s, err := measure(self, name, *conns, *warmup, *duration)
			if err != nil {
				fail(fmt.Errorf("%s: %w", name, err))
			}
			fmt.Fprintf(os.Stderr, "round %d %-9s %9.0f req/s %6.2f µs CPU/req\n", round+1, name, s.rps, s.cpuPerReq)
			results[name] = append(results[name], s)
		}
	}
	if *jsonOut {
		var out []bench.HTTPResult
		for _, name := range servers {
			if rs, ok := results[name]; ok {
				m := median(rs)
				out = append(out, bench.HTTPResult{Server: name, RequestsPerSecond: m.rps, CPUPerRequest: m.cpuPerReq * 1000})
			}
		}
		if err := bench.WriteJSON(os.Stdout, out, nil); err != nil {
			fail(err)
		}
		return
	}
	fmt.Printf("httpbench %s: wrk -c%d -t1, %v after %v warm-up, server on CPU 0, wrk on CPU 1; median of %d rounds\n",
		time.Now().UTC().Format(time.DateTime), *conns, *duration, *warmup, *rounds)
	fmt.Printf("%-9s %12s %14s %12s\n", "server", "req/s", "CPU µs/req", "twist/peer")
	tw := median(results["twist"])
	for _, name := range servers {
		rs, ok := results[name]
		if !ok {
			continue
		}
		m := median(rs)
		ratio := "-"
		if tw.cpuPerReq > 0 && name != "twist" {
			ratio = fmt.Sprintf("%.2fx", tw.cpuPerReq/m.cpuPerReq)
		}
		fmt.Printf("%-9s %12.0f %14.2f %12s\n", name, m.rps, m.cpuPerReq, ratio)
	}
}

type sample struct{ rps, cpuPerReq float64 }

// median returns the sample with the median CPU per request.
func median(s []sample) sample {
	if len(s) == 0 {
		return sample{}
	}
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b sample) int {
		switch {
		case a.cpuPerReq < b.cpuPerReq:
			return -1
		case a.cpuPerReq > b.cpuPerReq:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// measure starts the server pinned to CPU 0, loads it with wrk pinned to
// CPU 1, and reads the server's CPU time around the measured run.
func measure(self, name string, conns int, warmup, duration time.Duration) (sample, error) {
	cmd, addr, err := startServer(self, name)
	if err != nil {
		return sample{}, err
	}
	defer stopServer(cmd)
	url := "http://" + addr + "/"
	if _, err := wrk(url, conns, warmup); err != nil {
		return sample{}, err
	}
	before, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	reqs, err := wrk(url, conns, duration)
	if err != nil {
		return sample{}, err
	}
	after, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	return sample{
		rps:       float64(reqs) / duration.Seconds(),
		cpuPerReq: float64((after - before).Microseconds()) / float64(reqs),
	}, nil
}

var wrkRequests = regexp.MustCompile(`(\d+) requests in`)

// startServer starts the server name pinned to CPU 0 and returns it with
// its address.
func startServer(self, name string) (*exec.Cmd, string, error) {
	cmd := exec.Command("taskset", "-c", "0", self, "-serve", name)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stopServer(cmd)
		return nil, "", fmt.Errorf("no address from the server: %w", err)
	}
	return cmd, strings.TrimSpace(line), nil
}

func stopServer(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// wrk runs wrk on CPU 1 and returns how many requests it completed; any
// non-2xx answer or socket error is an error.
func wrk(url string, conns int, d time.Duration) (int64, error) {
	out, err := exec.Command("taskset", "-c", "1", "wrk", "-t1", "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(max(1, int(d.Seconds())))+"s", url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		return 0, fmt.Errorf("wrk reported errors: %s", out)
	}
	m := wrkRequests.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output not understood: %s", out)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// cpuTime returns a process's user+system CPU time from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces: count from its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}

// serveOne runs one server until killed, printing its address first.
func serveOne(name, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	switch name {
	case "twist":
		ln.Close()
		loop, err := reactor.New()
		if err != nil {
			return err
		}
		res := web.RenderFunc(func(r *web.Request) ([]byte, error) {
			r.SetHeader("Content-Type", "text/plain")
			return body, nil
		})
		port, err := internet.ListenTCP(loop, ln.Addr().String(), web.NewSite(res))
		if err != nil {
			return err
		}
		fmt.Println(port.Addr())
		return loop.Run()
	case "nethttp":
		fmt.Println(ln.Addr())
		return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(body)
		}))
	case "fasthttp":
		fmt.Println(ln.Addr())
		return fasthttp.Serve(ln, func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/plain")
			_, _ = ctx.Write(body)
		})
	case "nbhttp":
		a := ln.Addr().String()
		ln.Close()
		logging.SetLevel(logging.LevelNone)
		engine := nbhttp.NewEngine(nbhttp.Config{
			Network: "tcp",
			Addrs:   []string{a},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write(body)
			}),
		})
		if err := engine.Start(); err != nil {
			return err
		}
		fmt.Println(a)
		select {}
	}
	return fmt.Errorf("no server named %q", name)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "httpbench:", err)
	os.Exit(1)
}
