package crawl_test

import (
	"fmt"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/crawl/crawltest"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web"
)

// ChoutiSpider is the seed's spider, written against the package: its
// start requests name their callback, and the callback yields another
// request (here, one that every page asks for, fetched once).
type ChoutiSpider struct {
	Base   string
	Titles []string
}

func (s *ChoutiSpider) Name() string { return "chouti" }

func (s *ChoutiSpider) StartRequests() iter.Seq[*crawl.Request] {
	return func(yield func(*crawl.Request) bool) {
		for _, p := range []string{"/page/1", "/page/2"} {
			if !yield(crawl.NewRequest(s.Base+p, s.Parse)) {
				return
			}
		}
	}
}

func (s *ChoutiSpider) Parse(r *crawl.Response) (any, error) {
	s.Titles = append(s.Titles, r.Title())
	return crawl.NewRequest(s.Base+"/page/9", s.Parse), nil
}

// The seed's ChoutiSpider and a second spider crawl a local site in one
// CrawlerProcess, which stops the loop when both are done.
func Example() {
	loop, _ := reactor.New()
	defer loop.Close()
	port, _ := internet.ListenTCP(loop, "127.0.0.1:0", web.NewSite(crawltest.New(20).Resource()))
	base := "http://" + port.Addr().String()

	chouti := &ChoutiSpider{Base: base}
	links := &followSpider{start: base + "/page/0"}
	p := &crawl.CrawlerProcess{Loop: loop}
	p.Add(chouti, crawl.Settings{})
	p.Add(links, crawl.Settings{MaxDepth: 1, AllowedDomains: []string{"127.0.0.1"}, RetryBackoff: time.Millisecond})
	stats, err := p.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(chouti.Titles)
	fmt.Println(strings.Join(chouti.Titles, ", "))
	fmt.Println("chouti:", stats[0].Responses, "responses")
	fmt.Println("links within depth 1:", stats[1].Items, "items")
	// Output:
	// Page 1, Page 2, Page 9
	// chouti: 4 responses
	// links within depth 1: 6 items
}

// A crawl with a job directory stops after 10 pages; a second run with
// the same directory continues where it stopped and fetches the rest,
// none of them again.
func ExampleSettings_jobDir() {
	loop, _ := reactor.New()
	defer loop.Close()
	site := crawltest.New(30)
	port, _ := internet.ListenTCP(loop, "127.0.0.1:0", web.NewSite(site.Resource()))
	dir, _ := os.MkdirTemp("", "crawl-job")
	defer os.RemoveAll(dir)

	spider := &followSpider{start: "http://" + port.Addr().String() + "/page/0"}
	set := crawl.Settings{JobDir: dir, Concurrency: 1, AllowedDomains: []string{"127.0.0.1"}, RetryBackoff: time.Millisecond}
	first := set
	first.MaxPages = 10
	loop.CallWhenRunning(func() {
		crawl.NewCrawler(spider, first).Crawl(loop).AddCallback(func(v any) (any, error) {
			fmt.Println("first run:", v.(*crawl.Stats).Responses, "responses")
			return crawl.NewCrawler(spider, set).Crawl(loop), nil
		}).AddBoth(func(v any) (any, error) {
			fmt.Println("both runs:", v.(*crawl.Stats).Responses, "responses")
			return nil, loop.Stop()
		})
	})
	if err := loop.Run(); err != nil {
		fmt.Println(err)
		return
	}
	twice := 0
	for path, n := range site.AllHits() {
		if n > 1 && path != "/robots.txt" && path != "/flaky" { // once a run; a 500, then its retry
			twice++
		}
	}
	fmt.Println("pages fetched twice:", twice)
	// Output:
	// first run: 11 responses
	// both runs: 43 responses
	// pages fetched twice: 0
}
