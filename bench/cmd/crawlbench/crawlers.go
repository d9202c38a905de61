package main

import (
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/gocolly/colly/v2"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/reactor"
)

// crawled is what a crawler process prints when it is done.
type crawled struct {
	Pages int `json:"pages"`
}

// followSpider follows every link: the same work as the Colly and Scrapy
// crawlers do.
type followSpider struct{ start string }

func (s followSpider) Name() string                            { return "farm" }
func (s followSpider) StartRequests() iter.Seq[*crawl.Request] { return crawl.StartURLs(s.start) }

func (s followSpider) Parse(r *crawl.Response) (any, error) {
	links := r.Links()
	out := make([]*crawl.Request, len(links))
	for i, l := range links {
		out[i] = crawl.NewRequest(l, nil)
	}
	return out, nil
}

// crawlTwist crawls start with package crawl.
func crawlTwist(start string, concurrency int, jobdir string) error {
	loop, err := reactor.New()
	if err != nil {
		return err
	}
	defer loop.Close()
	p := &crawl.CrawlerProcess{Loop: loop}
	p.Add(followSpider{start}, crawl.Settings{
		Concurrency: concurrency, PerDomain: concurrency, IgnoreRobots: true, JobDir: jobdir,
		Logger: slog.New(slog.DiscardHandler),
	})
	stats, err := p.Run()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(crawled{stats[0].Responses})
}

// crawlColly crawls start with Colly, its requests in flight bounded by a
// LimitRule and its transport keeping as many idle connections.
func crawlColly(start string, concurrency int) error {
	c := colly.NewCollector(colly.Async(true))
	c.WithTransport(&http.Transport{MaxIdleConnsPerHost: concurrency})
	if err := c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: concurrency}); err != nil {
		return err
	}
	var pages atomic.Int64
	c.OnResponse(func(*colly.Response) { pages.Add(1) })
	c.OnHTML("a[href]", func(e *colly.HTMLElement) { _ = e.Request.Visit(e.Attr("href")) })
	if err := c.Visit(start); err != nil {
		return fmt.Errorf("colly: %w", err)
	}
	c.Wait()
	return json.NewEncoder(os.Stdout).Encode(crawled{int(pages.Load())})
}
