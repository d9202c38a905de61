// Command crawlbench crawls one local link farm with Twist's crawl
// package, Colly and Scrapy in turn, at the same concurrency, and prints
// each crawler's pages per minute and CPU time per page: the medians of
// several rounds, the crawlers alternating. The farm (a plain net/http
// server, the same for all) runs pinned to CPU 0 and each crawler as a
// process of its own pinned to CPU 1 (taskset); a crawler's CPU time is
// its process's user+sys time (rusage), and its pages per minute are
// the farm's count of pages served over the time from the first to the
// last. "twist-jobdir" is Twist's crawl with a job directory (the queue
// and seen-set on disk).
//
//	go run ./cmd/crawlbench [-pages 2000] [-concurrency 16] [-rounds 3] [-json]
//
// With -rss it instead crawls the farm once with the cmd/crawl binary
// given by -crawl-bin and --jobdir, sampling its resident memory every
// second:
//
//	go build -o /tmp/crawl ./cmd/crawl   # in the root module
//	go run ./cmd/crawlbench -rss -crawl-bin /tmp/crawl -pages 100000
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	serve := flag.Bool("serve", false, "(internal) serve the link farm and print its address")
	crawler := flag.String("crawler", "", "(internal) crawl -start with this crawler: twist or colly")
	start := flag.String("start", "", "(internal) the start URL of -crawler")
	jobdir := flag.String("jobdir", "", "(internal) the job directory of -crawler twist")
	pages := flag.Int("pages", 2000, "pages of the link farm")
	concurrency := flag.Int("concurrency", 16, "requests in flight, for every crawler")
	rounds := flag.Int("rounds", 3, "rounds; each crawler runs once a round")
	crawlers := flag.String("crawlers", "twist,colly,scrapy,twist-jobdir", "the crawlers to run")
	jsonOut := flag.Bool("json", false, "print the results as JSON")
	rss := flag.Bool("rss", false, "crawl once with -crawl-bin --jobdir, sampling its memory every second")
	crawlBin := flag.String("crawl-bin", "", "the cmd/crawl binary, for -rss")
	flag.Parse()
	var err error
	switch {
	case *serve:
		err = serveFarm(*pages)
	case *crawler == "twist":
		err = crawlTwist(*start, *concurrency, *jobdir)
	case *crawler == "colly":
		err = crawlColly(*start, *concurrency)
	case *crawler != "":
		err = fmt.Errorf("unknown crawler %q", *crawler)
	case *rss:
		err = rssRun(*crawlBin, *pages, *concurrency, *jsonOut)
	default:
		err = runBench(strings.Split(*crawlers, ","), *pages, *concurrency, *rounds, *jsonOut)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crawlbench:", err)
		os.Exit(1)
	}
}

// site is the link farm's process.
type site struct {
	cmd  *exec.Cmd
	addr string
}

// startSite starts the farm pinned to CPU 0.
func startSite(pages int) (*site, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", "-c", "0", self, "-serve", "-pages", strconv.Itoa(pages))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("link farm: %w", err)
	}
	return &site{cmd, strings.TrimSpace(line)}, nil
}

func (s *site) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

func (s *site) url(path string) string { return "http://" + s.addr + path }

// stats returns the farm's counts; reset sets them to zero.
func (s *site) stats() (farmStats, error) {
	var st farmStats
	resp, err := http.Get(s.url("/_stats"))
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (s *site) reset() error {
	resp, err := http.Get(s.url("/_reset"))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// sample is one crawl's measure.
type sample struct {
	Pages          int     `json:"pages"`
	PagesPerMinute float64 `json:"pages_per_minute"`
	CPUPerPage     float64 `json:"cpu_us_per_page"` // user+sys, microseconds
}

// Result is one crawler's medians.
type Result struct {
	Crawler        string   `json:"crawler"`
	PagesPerMinute float64  `json:"pages_per_minute"`
	CPUPerPage     float64  `json:"cpu_us_per_page"`
	Samples        []sample `json:"samples"`
}

// Report is the -json output.
type Report struct {
	Bench       string    `json:"bench"`
	Time        time.Time `json:"time"`
	Pages       int       `json:"pages"`
	Concurrency int       `json:"concurrency"`
	Rounds      int       `json:"rounds"`
	Results     []Result  `json:"results"`
	// Goals: Twist's pages per minute at least 5 times Scrapy's, its CPU
	// per page at most Colly's.
	SpeedVsScrapy float64 `json:"twist_speed_vs_scrapy"`
	CPUVsColly    float64 `json:"twist_cpu_vs_colly"`
	Note          string  `json:"note"`
}

// crawlCommand returns the command of one crawl of start, pinned to CPU 1.
func crawlCommand(name, start string, concurrency int, dir string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := strconv.Itoa(concurrency)
	var cmd *exec.Cmd
	switch name {
	case "twist", "twist-jobdir":
		args := []string{self, "-crawler", "twist", "-start", start, "-concurrency", c}
		if name == "twist-jobdir" {
			args = append(args, "-jobdir", dir+"/job")
		}
		cmd = exec.Command(args[0], args[1:]...)
	case "colly":
		cmd = exec.Command(self, "-crawler", "colly", "-start", start, "-concurrency", c)
	case "scrapy":
		if cmd, err = scrapyCommand(dir, start, c); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown crawler %q", name)
	}
	cmd.Args = append([]string{"taskset", "-c", "1"}, cmd.Args...)
	cmd.Path, err = exec.LookPath("taskset")
	return cmd, err
}

// crawlOnce crawls the farm with one crawler and measures it.
func crawlOnce(s *site, name string, concurrency int) (sample, error) {
	if err := s.reset(); err != nil {
		return sample{}, err
	}
	dir, err := os.MkdirTemp("", "crawlbench")
	if err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(dir)
	cmd, err := crawlCommand(name, s.url("/page/0"), concurrency, dir)
	if err != nil {
		return sample{}, err
	}
	cmd.Stderr = os.Stderr
	if _, err := cmd.Output(); err != nil {
		return sample{}, fmt.Errorf("%s: %w", name, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	st, err := s.stats()
	if err != nil {
		return sample{}, err
	}
	if st.Hits < 2 {
		return sample{}, fmt.Errorf("%s crawled %d pages", name, st.Hits)
	}
	window := time.Duration(st.Last - st.First)
	return sample{
		Pages:          st.Hits,
		PagesPerMinute: float64(st.Hits-1) / window.Minutes(),
		CPUPerPage:     float64(cpu.Microseconds()) / float64(st.Hits),
	}, nil
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// runBench runs the rounds and prints the medians.
func runBench(names []string, pages, concurrency, rounds int, jsonOut bool) error {
	if rounds < 1 || len(names) == 0 {
		return errors.New("nothing to run")
	}
	s, err := startSite(pages)
	if err != nil {
		return err
	}
	defer s.stop()
	samples := map[string][]sample{}
	for round := range rounds {
		for i := range names {
			name := names[(i+round)%len(names)] // each round starts with the next crawler
			sm, err := crawlOnce(s, name, concurrency)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "round %d %-12s %6d pages %9.0f pages/min %7.1f µs CPU/page\n",
				round+1, name, sm.Pages, sm.PagesPerMinute, sm.CPUPerPage)
			samples[name] = append(samples[name], sm)
		}
	}
	rep := Report{Bench: "crawlbench", Time: time.Now().UTC(), Pages: pages, Concurrency: concurrency, Rounds: rounds,
		Note: "link farm (net/http) on CPU 0, each crawler a process on CPU 1; medians; machine shared"}
	med := map[string]Result{}
	for _, name := range names {
		r := Result{Crawler: name, Samples: samples[name]}
		var ppm, cpu []float64
		for _, sm := range r.Samples {
			ppm, cpu = append(ppm, sm.PagesPerMinute), append(cpu, sm.CPUPerPage)
		}
		r.PagesPerMinute, r.CPUPerPage = median(ppm), median(cpu)
		rep.Results = append(rep.Results, r)
		med[name] = r
	}
	if sc, ok := med["scrapy"]; ok && med["twist"].PagesPerMinute > 0 {
		rep.SpeedVsScrapy = med["twist"].PagesPerMinute / sc.PagesPerMinute
	}
	if co, ok := med["colly"]; ok && med["twist"].CPUPerPage > 0 {
		rep.CPUVsColly = med["twist"].CPUPerPage / co.CPUPerPage
	}
	if jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Printf("crawlbench %s: a link farm of %d pages (net/http, CPU 0) crawled by each crawler (CPU 1) at concurrency %d;\nmedians of %d rounds, alternating; the machine was shared\n",
		rep.Time.Format(time.DateTime), pages, concurrency, rounds)
	fmt.Printf("%-14s %12s %14s\n", "crawler", "pages/min", "CPU µs/page")
	for _, r := range rep.Results {
		fmt.Printf("%-14s %12.0f %14.1f\n", r.Crawler, r.PagesPerMinute, r.CPUPerPage)
	}
	if rep.SpeedVsScrapy > 0 {
		fmt.Printf("twist/scrapy pages per minute: %.2fx (goal >= 5x: %s)\n", rep.SpeedVsScrapy, met(rep.SpeedVsScrapy >= 5))
	}
	if rep.CPUVsColly > 0 {
		fmt.Printf("twist/colly CPU per page: %.2fx (goal <= 1.0x: %s)\n", rep.CPUVsColly, met(rep.CPUVsColly <= 1))
	}
	return nil
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
