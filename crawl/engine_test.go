package crawl_test

import (
	"errors"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/crawl/crawltest"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// followSpider follows every link and records each page as an item.
type followSpider struct {
	start string
	mu    sync.Mutex
	pages []string
}

type page struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Depth int    `json:"depth"`
}

func (s *followSpider) Name() string { return "follow" }

func (s *followSpider) StartRequests() iter.Seq[*crawl.Request] { return crawl.StartURLs(s.start) }

func (s *followSpider) Parse(r *crawl.Response) (any, error) {
	s.mu.Lock()
	s.pages = append(s.pages, strings.TrimPrefix(r.URL, s.start[:strings.Index(s.start, "/page/")]))
	s.mu.Unlock()
	out := []any{page{URL: r.URL, Title: r.Title(), Depth: r.Request.Depth}}
	for _, l := range r.Links() {
		out = append(out, crawl.NewRequest(l, nil))
	}
	return out, nil
}

// crawlSite serves site and crawls it from /page/0 with set.
func crawlSite(t testing.TB, site *crawltest.Site, set crawl.Settings) (*crawl.Stats, *followSpider) {
	t.Helper()
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	loop := webtest.RunLoop(t)
	sp := &followSpider{start: "http://" + addr + "/page/0"}
	if set.AllowedDomains == nil {
		set.AllowedDomains = []string{"127.0.0.1"}
	}
	if set.RetryBackoff == 0 {
		set.RetryBackoff = 5 * time.Millisecond
	}
	v, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		return crawl.NewCrawler(sp, set).Crawl(loop), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*crawl.Stats), sp
}

func TestCrawlFetchesEveryPageOnce(t *testing.T) {
	site := crawltest.New(300)
	stats, sp := crawlSite(t, site, crawl.Settings{})
	want := map[string]int{"/robots.txt": 1, "/flaky": 2, "/loop/a": 1, "/loop/b": 1}
	for _, p := range site.Reachable() {
		want[p] = max(want[p], 1)
	}
	for i := 0; i <= 3; i++ {
		want["/redirect/"+string(rune('0'+i))] = 1
	}
	if got := site.AllHits(); !maps.Equal(got, want) {
		for k, v := range got {
			if want[k] != v {
				t.Errorf("%s fetched %d times, want %d", k, v, want[k])
			}
		}
		for k, v := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("%s never fetched, want %d", k, v)
			}
		}
	}
	// Items: the pages, /flaky after its retry, /slow and /data.bin.
	if stats.Items != 303 || len(sp.pages) != 303 {
		t.Errorf("items %d, parsed %d, want 303", stats.Items, len(sp.pages))
	}
	if stats.Retries != 1 || stats.Redirects != 6 || stats.Filtered["robots"] != 1 || stats.Filtered["offsite"] != 1 {
		t.Errorf("stats: %s", stats)
	}
	if stats.Errors["http_status"] != 1 || stats.ByStatus[404] != 1 || stats.ByStatus[500] != 1 {
		t.Errorf("stats: %s", stats)
	}
	if stats.Filtered["duplicate"] == 0 || stats.Finish.Before(stats.Start) {
		t.Errorf("stats: %s", stats)
	}
}

func TestConcurrencyLimits(t *testing.T) {
	cases := []struct {
		name                   string
		concurrency, perDomain int
		want                   int
	}{
		{"global", 2, 8, 2},
		{"per-domain", 16, 3, 3},
		{"defaults", 0, 0, crawl.DefaultPerDomain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			site := crawltest.New(200)
			site.Latency = 3 * time.Millisecond
			stats, _ := crawlSite(t, site, crawl.Settings{Concurrency: tc.concurrency, PerDomain: tc.perDomain})
			if m := site.MaxInFlight(); m > tc.want || m < 2 {
				t.Errorf("at most %d requests in flight, want 2 to %d", m, tc.want)
			}
			if stats.Items != 203 {
				t.Errorf("items %d, want 203", stats.Items)
			}
		})
	}
}

func TestRobots(t *testing.T) {
	site := crawltest.New(10)
	crawlSite(t, site, crawl.Settings{IgnoreRobots: true})
	if site.Hits("/private/secret") != 1 || site.Hits("/robots.txt") != 0 {
		t.Errorf("ignoring robots: secret %d, robots.txt %d", site.Hits("/private/secret"), site.Hits("/robots.txt"))
	}
}

func TestSettingsLimits(t *testing.T) {
	cases := []struct {
		name  string
		set   crawl.Settings
		check func(t *testing.T, site *crawltest.Site, s *crawl.Stats)
	}{
		{"max pages", crawl.Settings{MaxPages: 10}, func(t *testing.T, site *crawltest.Site, s *crawl.Stats) {
			n := 0
			for p, h := range site.AllHits() {
				if p != "/robots.txt" {
					n += h
				}
			}
			if n != 10 {
				t.Errorf("%d pages fetched, want 10", n)
			}
		}},
		{"max depth", crawl.Settings{MaxDepth: 2}, func(t *testing.T, site *crawltest.Site, s *crawl.Stats) {
			// Depth 0: page 0; 1: pages 1 and 2; 2: pages 3-7 and 14.
			if site.Hits("/page/14") != 1 || site.Hits("/page/8") != 0 || s.Filtered["depth"] == 0 {
				t.Errorf("page 14: %d, page 8: %d; %s", site.Hits("/page/14"), site.Hits("/page/8"), s)
			}
		}},
		{"max redirects", crawl.Settings{MaxRedirects: 2}, func(t *testing.T, site *crawltest.Site, s *crawl.Stats) {
			if s.Errors["redirects"] != 1 || site.Hits("/redirect/0") != 0 {
				t.Errorf("redirect/0: %d; %s", site.Hits("/redirect/0"), s)
			}
		}},
		{"size cap", crawl.Settings{MaxResponseSize: 500}, func(t *testing.T, site *crawltest.Site, s *crawl.Stats) {
			// Page 0, with the special links, is too big; the start fails.
			if s.Errors["too_large"] != 1 || s.Responses != 1 || site.Hits("/page/0") != 1 {
				t.Errorf("%s", s)
			}
		}},
		{"timeout", crawl.Settings{DownloadTimeout: 80 * time.Millisecond}, func(t *testing.T, site *crawltest.Site, s *crawl.Stats) {
			// /slow (250 ms) times out three times: the first try and
			// two retries. (web/client itself resends a request whose
			// pooled connection timed out, so the site may see more.)
			if s.Errors["timeout"] != 1 || s.Retries < 3 || site.Hits("/slow") < 3 {
				t.Errorf("slow fetched %d times; %s", site.Hits("/slow"), s)
			}
		}},
		{"allowed domains", crawl.Settings{AllowedDomains: []string{"example.com"}}, func(t *testing.T, site *crawltest.Site, s *crawl.Stats) {
			if s.Filtered["offsite"] != 1 || s.Requests != 0 {
				t.Errorf("%s", s)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			site := crawltest.New(50)
			site.SlowLatency = 250 * time.Millisecond
			stats, _ := crawlSite(t, site, tc.set)
			tc.check(t, site, stats)
		})
	}
}

func TestDownloadDelay(t *testing.T) {
	site := crawltest.New(5)
	stats, _ := crawlSite(t, site, crawl.Settings{DownloadDelay: 10 * time.Millisecond})
	// The starts of the downloads from the one host are 10 ms apart.
	if d := stats.Finish.Sub(stats.Start); d < time.Duration(stats.Requests-1)*10*time.Millisecond {
		t.Errorf("%d requests in %s with a 10 ms delay", stats.Requests, d)
	}
}

func TestAutoThrottle(t *testing.T) {
	site := crawltest.New(30)
	site.Latency = 10 * time.Millisecond
	stats, _ := crawlSite(t, site, crawl.Settings{AutoThrottle: true})
	// The delay soon nears the 10 ms latency: the site sees about one
	// request at a time instead of 8, and the crawl takes about 10 ms a
	// request instead of about 10 ms per 8.
	if m := site.MaxInFlight(); m > 3 {
		t.Errorf("%d in flight with AutoThrottle", m)
	}
	if d := stats.Finish.Sub(stats.Start); d < time.Duration(stats.Requests)*5*time.Millisecond {
		t.Errorf("%d requests in %s", stats.Requests, d)
	}
}

// deferredSpider answers through Deferreds and an errback, and its
// pipeline drops some items.
type deferredSpider struct {
	start  string
	loop   *reactor.Reactor
	failed []string
}

func (s *deferredSpider) Name() string { return "deferred" }

func (s *deferredSpider) StartRequests() iter.Seq[*crawl.Request] {
	return func(yield func(*crawl.Request) bool) {
		for _, p := range []string{"/page/1", "/page/2", "/missing", "/page/3"} {
			r := crawl.NewRequest(s.start+p, nil)
			r.Errback = func(req *crawl.Request, err error) (any, error) {
				var he *crawl.HTTPError
				if errors.As(err, &he) {
					s.failed = append(s.failed, req.URL[len(s.start):])
				}
				return map[string]any{"failed": req.URL}, nil
			}
			if !yield(r) {
				return
			}
		}
	}
}

func (s *deferredSpider) Parse(r *crawl.Response) (any, error) {
	d := deferred.New()
	s.loop.CallLater(time.Millisecond, func() {
		d.Callback([]any{map[string]any{"title": r.Title()}, "drop me"})
	})
	return d, nil
}

func TestDeferredCallbacksAndPipelines(t *testing.T) {
	site := crawltest.New(10)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	loop := webtest.RunLoop(t)
	sp := &deferredSpider{start: "http://" + addr, loop: loop}
	var mu sync.Mutex
	var titles []string
	drop := crawl.PipelineFunc(func(item any) (any, error) {
		if item == "drop me" {
			return nil, crawl.ErrDropItem
		}
		return item, nil
	})
	// An asynchronous pipeline: the crawl waits for it.
	record := crawl.PipelineFunc(func(item any) (any, error) {
		d := deferred.New()
		loop.CallLater(time.Millisecond, func() {
			mu.Lock()
			if m := item.(map[string]any); m["title"] != nil {
				titles = append(titles, m["title"].(string))
			}
			mu.Unlock()
			d.Callback(item)
		})
		return d, nil
	})
	v, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		return crawl.NewCrawler(sp, crawl.Settings{Pipelines: []crawl.Pipeline{drop, record}}).Crawl(loop), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stats := v.(*crawl.Stats)
	slices.Sort(titles)
	if !slices.Equal(titles, []string{"Page 1", "Page 2", "Page 3"}) || stats.Items != 4 || stats.ItemsDropped != 3 {
		t.Errorf("titles %q, %s", titles, stats)
	}
	if !slices.Equal(sp.failed, []string{"/missing"}) {
		t.Errorf("errback saw %q", sp.failed)
	}
}

func TestCrawlerProcess(t *testing.T) {
	site := crawltest.New(20)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	p := &crawl.CrawlerProcess{Loop: loop}
	set := crawl.Settings{AllowedDomains: []string{"127.0.0.1"}, RetryBackoff: time.Millisecond}
	p.Add(&followSpider{start: "http://" + addr + "/page/0"}, set)
	p.Add(&followSpider{start: "http://" + addr + "/page/5"}, set)
	stats, err := p.Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].Items != 23 || stats[1].Items == 0 {
		t.Fatalf("stats %v", stats)
	}
}

func TestStopFinishesInFlight(t *testing.T) {
	site := crawltest.New(300)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	loop := webtest.RunLoop(t)
	var c *crawl.Crawler
	parsed := 0
	sp := &stopSpider{start: "http://" + addr + "/page/0", parse: func() {
		if parsed++; parsed == 5 {
			c.Stop()
		}
	}}
	v, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		c = crawl.NewCrawler(sp, crawl.Settings{Concurrency: 4, AllowedDomains: []string{"127.0.0.1"}, RetryBackoff: time.Millisecond})
		return c.Crawl(loop), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stats := v.(*crawl.Stats)
	// What was in progress when Stop came (at most 3 besides the
	// request being parsed) finished; nothing new started.
	if parsed < 5 || parsed > 5+3 || stats.Requests != stats.Responses || stats.Responses > 30 {
		t.Errorf("after Stop: %s", stats)
	}
}

// stopSpider follows links and calls parse for each page.
type stopSpider struct {
	start string
	parse func()
}

func (s *stopSpider) Name() string { return "stop" }

func (s *stopSpider) StartRequests() iter.Seq[*crawl.Request] { return crawl.StartURLs(s.start) }

func (s *stopSpider) Parse(r *crawl.Response) (any, error) {
	s.parse()
	var out []*crawl.Request
	for _, l := range r.Links() {
		out = append(out, crawl.NewRequest(l, nil))
	}
	return out, nil
}
