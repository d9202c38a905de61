package main

import (
	"bufio"
	"cmp"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/twistgo/twist/bench"
)

// families are the report's sections, in its order.
var families = []family{
	{name: "echo", title: "TCP echo", binaries: []string{"echobench"}, run: runEcho,
		about: "Each connection writes a message, or P messages in one write, and reads them back, over and over; " +
			"the idle figure is the growth of the server's resident memory with connections that send nothing. " +
			"Every server is the minimal echo server of its library, on one event loop (or poller) unless named otherwise."},
	{name: "rpc", title: "RPC add(1, 2)", binaries: []string{"rpcbench"}, run: runRPC,
		about: "Twist's framed BSON RPC (through a minimal pipelining client and through rpc.Client), its MongoDB wire " +
			"server through the official MongoDB Go driver (a pool of 50 goroutines), net/rpc with gob and gRPC-go with " +
			"protobuf, each serving add(1, 2)."},
	{name: "http", title: "HTTP server", needs: []string{"wrk"}, binaries: []string{"httpbench"}, run: runHTTP,
		about: "wrk (one thread, 50 keep-alive connections) fetching a 13-byte static text response; the idle figure is " +
			"the growth of the server's resident memory with keep-alive connections left open after one request each."},
	{name: "httpclient", title: "HTTP client", binaries: []string{"httpbench", "bench.test"}, run: runHTTPClient,
		about: "web/client's Agent and net/http's Client each fetching a small body over 16 keep-alive connections from " +
			"the same fasthttp server (pinned to CPU 0); the client runs with GOMAXPROCS=1 on CPU 1, so its time per " +
			"request is close to its CPU per request."},
	{name: "tls", title: "TLS echo", binaries: []string{"tlsbench"}, run: runTLS,
		about: "TLS 1.3 with an ECDSA P-256 certificate: Twist's TLS echo on one loop against a goroutine-per-connection " +
			"crypto/tls server; 64-byte messages, idle connections after a handshake and one echo each, and full handshakes " +
			"(no resumption) from 4 clients."},
	{name: "crawl", title: "Crawler", binaries: []string{"crawlbench"}, run: runCrawl,
		about: "Twist's crawl package (also with a job directory: queue and seen-set on disk), Colly and Scrapy each " +
			"crawling the same local link farm (a net/http server pinned to CPU 0) at 16 requests in flight, each " +
			"crawler a process of its own on CPU 1. CPU here is the crawler's (user and system time per page), and " +
			"the rate the farm's pages served per minute."},
	{name: "micro", title: "Deferred and Inline", binaries: []string{"deferred.test", "bench.test"}, run: runMicro,
		about: "Go benchmarks on one CPU (GOMAXPROCS=1): the deferred package's own benchmarks beside a channel round " +
			"trip between two goroutines (bench's BenchmarkChannelRoundTrip), the way Go code without a loop waits for " +
			"an answer. The ratio is to the channel round trip."},
}

// isTwist says whether a harness's system name is Twist's.
func isTwist(name string) bool { return strings.HasPrefix(strings.ToLower(name), "twist") }

// echoServers selects the echo servers: Twist on one loop (the server has
// one CPU), gnet on one, nbio with one and two pollers, and the net
// package's goroutines.
const echoServers = "^echo-(twist-1|gnet-1|nbio-1|nbio-2|net)$"

func runEcho(r *runner) ([]workload, []string, error) {
	loads := []struct {
		name, label string
		args        []string
	}{
		{"64-byte messages, 50 connections, 1 in flight each", "64 B, P=1", []string{"-conns", "50", "-size", "64", "-pipeline", "1"}},
		{"64-byte messages, 50 connections, 16 in flight each (P=16)", "64 B, P=16", []string{"-conns", "50", "-size", "64", "-pipeline", "16"}},
		{"16 KiB messages, 10 connections, 1 in flight each", "16 KiB", []string{"-conns", "10", "-size", "16384", "-pipeline", "1"}},
	}
	var ws []workload
	var cmds []string
	for _, l := range loads {
		args := append(r.common(), "-server-cpus", serverCPU, "-run", echoServers, "-idle", "0")
		var res []bench.EchoResult
		cmd, err := r.json(&res, "echobench", append(args, l.args...)...)
		cmds = append(cmds, cmd)
		if err != nil {
			return ws, cmds, err
		}
		w := workload{family: "echo", name: "Echo, " + l.name, label: l.label, metrics: []metric{mRate.named("msgs/s"), mCPU.named("server CPU ns/msg")}}
		for _, e := range res {
			w.rows = append(w.rows, row{system: e.Server, twist: isTwist(e.Server), v: map[string]float64{
				"rate": e.MessagesPerSecond, "cpu": e.UserPerMessage + e.SysPerMessage}})
		}
		ws = append(ws, w)
	}
	args := append(r.common(), "-server-cpus", serverCPU, "-run", echoServers, "-conns", "0", "-idle", fmt.Sprint(r.cfg.idle))
	var res []bench.EchoResult
	cmd, err := r.json(&res, "echobench", args...)
	cmds = append(cmds, cmd)
	if err != nil {
		return ws, cmds, err
	}
	n := r.cfg.idle
	if len(res) > 0 {
		n = res[0].IdleConns // echobench lowers it to what the descriptor limit holds
	}
	w := workload{family: "echo", name: fmt.Sprintf("Echo, %s idle connections", formatNumber(float64(n), 0)), label: formatNumber(float64(n), 0) + " idle conns", metrics: []metric{mMem}}
	if n < r.cfg.idle {
		var lim syscall.Rlimit
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		w.note = fmt.Sprintf("Asked for %s: the limit on open descriptors (%d, which this user could not raise) holds no more "+
			"for the net server, which keeps three per connection (the socket and a splice pipe).", formatNumber(float64(r.cfg.idle), 0), lim.Max)
	}
	for _, e := range res {
		w.rows = append(w.rows, row{system: e.Server, twist: isTwist(e.Server), v: map[string]float64{"mem": e.RSSPerConn}})
	}
	return append(ws, w), cmds, nil
}

func runRPC(r *runner) ([]workload, []string, error) {
	var res []bench.Result
	cmd, err := r.json(&res, "rpcbench", append(r.common(), "-servercpus", serverCPU)...)
	if err != nil {
		return nil, []string{cmd}, err
	}
	metrics := []metric{mRate.named("calls/s"), mP50, mP99, mCPU.named("server CPU ns/call")}
	byShape := map[string]*workload{}
	var ws []*workload
	for _, c := range res {
		// The driver's pool of 50 goroutines is set beside 50 connections.
		shape, system := c.Shape, c.System
		if strings.Contains(shape, "pool") {
			shape = fmt.Sprintf("%d conns x 1", bench.Conns)
			system += " (pool of 50)"
		}
		w := byShape[shape]
		if w == nil {
			w = &workload{family: "rpc", name: "RPC add, " + shape, label: shape, metrics: metrics}
			byShape[shape] = w
			ws = append(ws, w)
		}
		w.rows = append(w.rows, row{system: system, twist: isTwist(system), v: map[string]float64{
			"rate": c.CallsPerSecond(), "p50": float64(c.P50), "p99": float64(c.P99), "cpu": c.CPUPerCall() + c.SysPerCall()}})
	}
	out := make([]workload, len(ws))
	for i, w := range ws {
		out[i] = *w
	}
	return out, []string{cmd}, nil
}

// httpNames are the report's names of httpbench's servers.
var httpNames = map[string]string{"twist": "twist web", "fasthttp": "fasthttp", "nbhttp": "nbio nbhttp", "nethttp": "net/http"}

func runHTTP(r *runner) ([]workload, []string, error) {
	var res []bench.HTTPResult
	load, err := r.json(&res, "httpbench", append(r.common(), "-conns", "50")...)
	if err != nil {
		return nil, []string{load}, err
	}
	w := workload{family: "http", name: "HTTP, small static response, 50 keep-alive connections", label: "keep-alive, 13 B",
		metrics: []metric{mRate.named("req/s"), mCPU.named("server CPU ns/req")}}
	for _, h := range res {
		w.rows = append(w.rows, row{system: httpNames[h.Server], twist: h.Server == "twist", v: map[string]float64{"rate": h.RequestsPerSecond, "cpu": h.CPUPerRequest}})
	}
	res = nil
	idle, err := r.json(&res, "httpbench", "-json", "-rounds", fmt.Sprint(r.cfg.rounds), "-idle", fmt.Sprint(r.cfg.httpIdle))
	if err != nil {
		return []workload{w}, []string{load, idle}, err
	}
	wi := workload{family: "http", name: fmt.Sprintf("HTTP, %s idle keep-alive connections", formatNumber(float64(r.cfg.httpIdle), 0)), label: formatNumber(float64(r.cfg.httpIdle), 0) + " idle conns", metrics: []metric{mMem}}
	for _, h := range res {
		wi.rows = append(wi.rows, row{system: httpNames[h.Server], twist: h.Server == "twist", v: map[string]float64{"mem": h.RSSPerConn}})
	}
	return []workload{w, wi}, []string{load, idle}, nil
}

func runHTTPClient(r *runner) ([]workload, []string, error) {
	// The server: httpbench's fasthttp, pinned to the servers' CPU.
	srv, shownSrv := r.command("httpbench", "-serve", "fasthttp")
	srv.Args[2] = serverCPU
	shownSrv = strings.Replace(shownSrv, "-c "+loadCPU, "-c "+serverCPU, 1)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, nil, fmt.Errorf("%s: no address: %w", shownSrv, err)
	}
	url := "http://" + strings.TrimSpace(addr) + "/"
	systems := []struct{ bench, name string }{
		{"BenchmarkHTTPClient/twist", "twist web/client Agent"},
		{"BenchmarkHTTPClient/net-http", "net/http Client"},
	}
	perRound := map[string][]float64{}
	var shown string
	for range r.cfg.rounds {
		res, cmd, err := r.goBench("bench.test", "^BenchmarkHTTPClient$", "BENCH_HTTP_URL="+url)
		shown = fmt.Sprintf("%s; BENCH_HTTP_URL=%s %s, %d times", shownSrv, url, cmd, r.cfg.rounds)
		if err != nil {
			return nil, []string{shown}, err
		}
		for _, s := range systems {
			ns, ok := res[s.bench]["ns/op"]
			if !ok {
				return nil, []string{shown}, fmt.Errorf("no %s in its output", s.bench)
			}
			perRound[s.name] = append(perRound[s.name], ns)
		}
	}
	w := workload{family: "httpclient", name: "HTTP client, small body, 16 keep-alive connections", label: "16 conns",
		metrics: []metric{mWall.named("client ns/req"), mRate.named("req/s")}}
	for _, s := range systems {
		ns := medianOf(perRound[s.name])
		w.rows = append(w.rows, row{system: s.name, twist: isTwist(s.name), v: map[string]float64{"wall": ns, "rate": 1e9 / ns}})
	}
	return []workload{w}, []string{shown}, nil
}

func runTLS(r *runner) ([]workload, []string, error) {
	var res []bench.TLSResult
	// tlsbench pins itself (the clients) with -client-cpus.
	args := append(r.common(), "-server-cpus", serverCPU, "-client-cpus", loadCPU, "-idle", fmt.Sprint(r.cfg.tlsIdle))
	cmd, err := r.json(&res, "tlsbench", args...)
	if err != nil {
		return nil, []string{cmd}, err
	}
	names := map[string]string{bench.ServerTLSTwist: "twist TLS, 1 loop", bench.ServerTLSNet: "crypto/tls, goroutines"}
	load := workload{family: "tls", name: "TLS echo, 64-byte messages, 50 connections", label: "64 B",
		metrics: []metric{mRate.named("msgs/s"), mCPU.named("server CPU ns/msg")}}
	idle := workload{family: "tls", name: fmt.Sprintf("TLS, %s idle connections", formatNumber(float64(r.cfg.tlsIdle), 0)), label: formatNumber(float64(r.cfg.tlsIdle), 0) + " idle conns",
		metrics: []metric{mMem, mGoroutines}}
	hs := workload{family: "tls", name: "TLS full handshakes, 4 clients", label: "handshakes", metrics: []metric{mHSRate, mHSCPU}}
	for _, t := range res {
		name, twist := names[t.Server], t.Server == bench.ServerTLSTwist
		load.rows = append(load.rows, row{system: name, twist: twist, v: map[string]float64{"rate": t.MessagesPerSecond, "cpu": t.UserPerMessage + t.SysPerMessage}})
		idle.rows = append(idle.rows, row{system: name, twist: twist, v: map[string]float64{"mem": t.RSSPerConn, "goroutines": t.GoroutinesPerConn}})
		hs.rows = append(hs.rows, row{system: name, twist: twist, v: map[string]float64{"hsrate": t.HandshakesPerSecond, "hscpu": t.CPUPerHandshake}})
	}
	return []workload{load, idle, hs}, []string{cmd}, nil
}

// crawlPages is the size of the link farm: Scrapy, the slowest, crawls
// it in some 15 seconds.
const crawlPages = 1000

// crawlResult is one crawler's medians in crawlbench -json's output.
type crawlResult struct {
	Crawler        string  `json:"crawler"`
	PagesPerMinute float64 `json:"pages_per_minute"`
	CPUPerPage     float64 `json:"cpu_us_per_page"`
}

// crawlNames are the report's names of crawlbench's crawlers.
var crawlNames = map[string]string{"twist": "twist crawl", "twist-jobdir": "twist crawl, --jobdir", "colly": "Colly", "scrapy": "Scrapy"}

func runCrawl(r *runner) ([]workload, []string, error) {
	pages := crawlPages
	if r.cfg.short {
		pages = 50
	}
	crawlers := "twist,twist-jobdir,colly"
	if _, err := exec.LookPath("scrapy"); err == nil {
		crawlers += ",scrapy"
	} else {
		fmt.Fprintln(r.log, "Scrapy is not installed: crawling without it")
	}
	var out struct {
		Results []crawlResult `json:"results"`
	}
	cmd, err := r.json(&out, "crawlbench", "-json", "-rounds", fmt.Sprint(r.cfg.rounds), "-pages", fmt.Sprint(pages),
		"-concurrency", "16", "-crawlers", crawlers)
	if err != nil {
		return nil, []string{cmd}, err
	}
	w := workload{family: "crawl", name: fmt.Sprintf("Crawl of a %s-page link farm, 16 requests in flight", formatNumber(float64(pages), 0)),
		label:   fmt.Sprintf("%d pages", pages),
		metrics: []metric{mRate.named("pages/min"), {key: "cpu", header: "crawler CPU µs/page", lowerBetter: true, scale: 1000}}}
	for _, c := range out.Results {
		w.rows = append(w.rows, row{system: cmp.Or(crawlNames[c.Crawler], c.Crawler), twist: strings.HasPrefix(c.Crawler, "twist"),
			v: map[string]float64{"rate": c.PagesPerMinute, "cpu": c.CPUPerPage * 1000}})
	}
	return []workload{w}, []string{cmd}, nil
}

// microBenchmarks are the rows of the micro-benchmark table: which test
// binary, which benchmark and unit, and the row's name. The last one is the
// peer.
var microBenchmarks = []struct {
	binary, bench, unit, name string
}{
	{"deferred.test", "BenchmarkAddCallbackFired", "ns/op", "twist Deferred: AddCallback on a fired Deferred"},
	{"deferred.test", "BenchmarkChain10", "ns/op", "twist Deferred: New, 10 callbacks, Callback"},
	{"deferred.test", "BenchmarkInlineStart", "ns/op", "twist Inline: start and finish a coroutine"},
	{"deferred.test", "BenchmarkInlineAwait/pending/coroutine", "ns/await", "twist Inline: Await a pending Deferred"},
	{"deferred.test", "BenchmarkInlineAwait/pending/callback", "ns/await", "twist Deferred: the same with a callback"},
	{"deferred.test", "BenchmarkInlineAwait/fired/coroutine", "ns/await", "twist Inline: Await a fired Deferred"},
	{"bench.test", "BenchmarkChannelRoundTrip", "ns/op", "channel round trip, two goroutines"},
}

func runMicro(r *runner) ([]workload, []string, error) {
	patterns := map[string]string{
		"deferred.test": "^(BenchmarkAddCallbackFired|BenchmarkChain10|BenchmarkInlineStart|BenchmarkInlineAwait)$",
		"bench.test":    "^BenchmarkChannelRoundTrip$",
	}
	values := map[string][]float64{}
	var cmds []string
	for round := range r.cfg.rounds {
		for _, binary := range []string{"deferred.test", "bench.test"} {
			res, cmd, err := r.goBench(binary, patterns[binary])
			if round == 0 {
				cmds = append(cmds, fmt.Sprintf("%s, %d times", cmd, r.cfg.rounds))
			}
			if err != nil {
				return nil, cmds, err
			}
			for _, m := range microBenchmarks {
				if m.binary != binary {
					continue
				}
				v, ok := res[m.bench][m.unit]
				if !ok {
					return nil, cmds, fmt.Errorf("no %s %s in %s's output", m.bench, m.unit, binary)
				}
				values[m.name] = append(values[m.name], v)
			}
		}
	}
	w := workload{family: "micro", name: "Deferred, Inline and a channel round trip", label: "micro", metrics: []metric{mWall}}
	for _, m := range microBenchmarks {
		w.rows = append(w.rows, row{system: m.name, twist: isTwist(m.name), v: map[string]float64{"wall": medianOf(values[m.name])}})
	}
	return []workload{w}, cmds, nil
}
