// Command crawl crawls the web from the start URLs with a default spider
// that follows the links within the start URLs' hosts, and writes one JSON
// line per page (url, status, title, depth, links: the number of links on
// it) to --out, or a CSV row with --format csv. Stats go to standard error
// at the end. The first Ctrl-C lets the downloads in flight finish; a
// second stops at once. With --jobdir DIR the crawl is resumable: run it
// again with the same DIR (and start URLs) to continue where it stopped;
// --out is then appended to.
//
//	go run ./cmd/crawl [flags] START_URL...
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web/status"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, interrupts()); err != nil {
		fmt.Fprintln(os.Stderr, "crawl:", err)
		os.Exit(1)
	}
}

// interrupts returns a channel of the process's Ctrl-Cs.
func interrupts() <-chan os.Signal {
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt)
	return c
}

// page is the line written for each page.
type page struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Title  string `json:"title"`
	Depth  int    `json:"depth"`
	Links  int    `json:"links"`
}

// siteSpider follows every link; the engine's AllowedDomains keeps it on
// the start hosts.
type siteSpider struct{ starts []string }

func (s *siteSpider) Name() string                            { return "site" }
func (s *siteSpider) StartRequests() iter.Seq[*crawl.Request] { return crawl.StartURLs(s.starts...) }

func (s *siteSpider) Parse(r *crawl.Response) (any, error) {
	links := r.Links()
	out := make([]any, 0, len(links)+1)
	out = append(out, page{URL: r.URL, Status: r.Status, Title: r.Title(), Depth: r.Request.Depth, Links: len(links)})
	for _, l := range links {
		out = append(out, crawl.NewRequest(l, nil))
	}
	return out, nil
}

// progressEvery is the interval of the progress line.
var progressEvery = time.Second

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func errorCount(st *crawl.Stats) int {
	n := 0
	for _, v := range st.Errors {
		n += v
	}
	return n
}

// figures are the crawl's stats as the status page's section "crawl";
// they are read on the loop.
func figures(c *crawl.Crawler) []metrics.Figure {
	st := c.Stats()
	if st == nil {
		return nil
	}
	counter := func(name, help string, v float64) metrics.Figure {
		return metrics.Figure{Name: name, Help: help, Counter: true, Value: v}
	}
	out := []metrics.Figure{
		counter("requests", "Downloads started, retries included.", float64(st.Requests)),
		counter("pages_fetched", "Responses received.", float64(st.Responses)),
		{Name: "queued", Help: "Requests waiting in the scheduler.", Value: float64(c.Queued())},
		{Name: "in_flight", Help: "Requests taken from the scheduler and not finished.", Value: float64(c.InFlight())},
		counter("received_bytes", "Body bytes received.", float64(st.Bytes)),
		counter("items", "Items that passed every pipeline.", float64(st.Items)),
		counter("items_dropped", "Items a pipeline dropped.", float64(st.ItemsDropped)),
		counter("retries", "Retries scheduled.", float64(st.Retries)),
		counter("redirects", "Redirects followed.", float64(st.Redirects)),
	}
	// The kinds and reasons are the engine's few, never a peer's words.
	for _, k := range slices.Sorted(maps.Keys(st.Errors)) {
		out = append(out, metrics.Figure{Name: "errors", Label: "kind", LabelValue: k,
			Help: "Failed requests, by kind.", Counter: true, Value: float64(st.Errors[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(st.Filtered)) {
		out = append(out, metrics.Figure{Name: "filtered", Label: "reason", LabelValue: k,
			Help: "Requests dropped before download, by reason.", Counter: true, Value: float64(st.Filtered[k])})
	}
	return out
}

// run is the program, with its inputs made explicit for tests.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) error {
	fs := flag.NewFlagSet("crawl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var set crawl.Settings
	fs.IntVar(&set.Concurrency, "concurrency", crawl.DefaultConcurrency, "requests in progress at once")
	fs.IntVar(&set.PerDomain, "per-domain", crawl.DefaultPerDomain, "downloads in flight per host")
	fs.IntVar(&set.MaxPages, "max-pages", 0, "stop after downloading this many pages (0: no limit)")
	fs.IntVar(&set.MaxDepth, "max-depth", 0, "follow links at most this deep (0: no limit)")
	fs.DurationVar(&set.DownloadDelay, "delay", 0, "least time between two downloads from one host")
	fs.BoolVar(&set.AutoThrottle, "autothrottle", false, "adapt each host's delay to its latency")
	fs.DurationVar(&set.DownloadTimeout, "timeout", crawl.DefaultDownloadTimeout, "time-out of each download step")
	fs.IntVar(&set.MaxRetries, "retries", crawl.DefaultMaxRetries, "retries of a failed download (negative: none)")
	fs.DurationVar(&set.RetryBackoff, "retry-backoff", crawl.DefaultRetryBackoff, "wait before the first retry; it doubles for each one after")
	fs.StringVar(&set.JobDir, "jobdir", "", "keep the crawl's state in this directory, to resume it by running again with the same one")
	obey := fs.Bool("obey-robots", true, "obey robots.txt")
	progress := fs.Bool("progress", isTerminal(stderr), "show a live progress line on standard error (default: when it is a terminal)")
	out := fs.String("out", "-", "where to write the feed (-: standard output)")
	format := fs.String("format", "jsonl", "the feed's format: jsonl (JSON Lines) or csv")
	statusAddr := fs.String("status", "", "serve a live status page, /status.json and /metrics at this address (host:port, or :port for 127.0.0.1)")
	statusAuth := fs.String("status-auth", "", "ask this token of the status page's clients (Authorization: Bearer TOKEN, or ?token=TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crawl [flags] START_URL...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no start URL")
	}
	for _, s := range fs.Args() {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("not an http or https URL: %q", s)
		}
		set.AllowedDomains = append(set.AllowedDomains, u.Hostname())
	}
	if *format != "jsonl" && *format != "csv" {
		return fmt.Errorf("unknown format %q (jsonl or csv)", *format)
	}
	set.IgnoreRobots = !*obey
	set.AllowErrorStatus = true // every page gets its line, errors included

	w := stdout
	appended := false
	if *out != "-" {
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if set.JobDir != "" {
			flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND // a resumed job adds to its feed
		}
		f, err := os.OpenFile(*out, flags, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
			appended = true
		}
		w = f
	}
	bw := bufio.NewWriter(w)
	if *format == "csv" {
		feed := crawl.NewCSV(bw, "url", "status", "title", "depth", "links")
		feed.NoHeader = appended
		set.Pipelines = []crawl.Pipeline{feed}
	} else {
		set.Pipelines = []crawl.Pipeline{crawl.NewJSONLines(bw)}
	}

	loop, err := reactor.New()
	if err != nil {
		return err
	}
	defer loop.Close()
	p := &crawl.CrawlerProcess{Loop: loop}
	c := p.Add(&siteSpider{starts: fs.Args()}, set)
	var statusErr error
	if *statusAddr != "" {
		reg := metrics.NewRegistry()
		reg.AddLoop("main", loop)
		reg.AddSection("crawl", loop, func() []metrics.Figure { return figures(c) })
		page, err := status.New(reg, status.Options{Token: *statusAuth, Title: "crawl"})
		if err != nil {
			return err
		}
		loop.CallWhenRunning(func() {
			port, err := page.Listen(loop, *statusAddr)
			if err != nil {
				statusErr = fmt.Errorf("--status: %w", err)
				_ = loop.Stop()
				return
			}
			fmt.Fprintf(stderr, "crawl: status page at http://%s/\n", port.Addr())
		})
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sigs:
				if n == 0 {
					fmt.Fprintln(stderr, "crawl: stopping after the downloads in flight; Ctrl-C again to stop now")
					loop.CallFromThread(c.Stop)
				} else {
					_ = loop.Stop()
				}
			case <-done:
				return
			}
		}
	}()
	if *progress {
		var tick func()
		tick = func() {
			if st := c.Stats(); st != nil {
				el := loop.Now().Sub(st.Start)
				fmt.Fprintf(stderr, "\r%d pages, %d items, %d errors, %.0f pages/min   ", st.Responses, st.Items, errorCount(st), float64(st.Responses)/max(el.Minutes(), 1e-9))
			}
			loop.CallLater(progressEvery, tick)
		}
		loop.CallWhenRunning(func() { loop.CallLater(progressEvery, tick) })
	}
	stats, err := p.Run()
	if *progress {
		fmt.Fprintln(stderr)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if statusErr != nil {
		return statusErr
	}
	if err != nil {
		return err
	}
	if len(stats) == 1 && stats[0] != nil {
		fmt.Fprint(stderr, stats[0])
	} else {
		fmt.Fprintln(stderr, "crawl: stopped before the crawl finished")
	}
	return nil
}
