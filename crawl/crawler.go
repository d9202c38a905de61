package crawl

import (
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// A Crawler runs one spider with its settings (Scrapy's Crawler).
type Crawler struct {
	Spider   Spider
	Settings Settings
	engine   *Engine
}

// NewCrawler returns a crawler for spider.
func NewCrawler(spider Spider, set Settings) *Crawler {
	return &Crawler{Spider: spider, Settings: set}
}

// Crawl starts the crawl on loop and returns a Deferred that fires with
// its *Stats when it is over. Call it on the loop, once.
func (c *Crawler) Crawl(loop *reactor.Reactor) *deferred.Deferred {
	c.engine = NewEngine(loop, c.Spider, c.Settings)
	return c.engine.Start()
}

// Stats returns the crawl's stats so far, or nil before Crawl. Read them
// on the loop.
func (c *Crawler) Stats() *Stats {
	if c.engine == nil {
		return nil
	}
	return c.engine.Stats()
}

// Queued returns the number of requests waiting in the scheduler, and
// InFlight those taken from it and not finished (downloading, waiting for
// their host's slot, or in their callbacks); both 0 before Crawl. Call
// them on the loop.
func (c *Crawler) Queued() int {
	if c.engine == nil {
		return 0
	}
	return c.engine.sched.Len()
}

// InFlight returns the number of requests in progress: see Queued.
func (c *Crawler) InFlight() int {
	if c.engine == nil {
		return 0
	}
	return c.engine.inProgress
}

// Stop stops a running crawl gracefully: what is in progress finishes.
func (c *Crawler) Stop() {
	if c.engine != nil {
		c.engine.Stop()
	}
}

// A CrawlerProcess runs several crawlers on one loop and stops the loop
// when all are done (Scrapy's CrawlerProcess): their Deferreds are gathered
// in a deferred.List.
type CrawlerProcess struct {
	Loop     *reactor.Reactor
	Crawlers []*Crawler
	results  []deferred.Outcome
}

// Add adds a crawler for spider.
func (p *CrawlerProcess) Add(spider Spider, set Settings) *Crawler {
	c := NewCrawler(spider, set)
	p.Crawlers = append(p.Crawlers, c)
	return c
}

// Start starts every crawler on the loop and returns the Deferred of
// their list, which stops the loop when it fires. Call it on the loop.
func (p *CrawlerProcess) Start() *deferred.Deferred {
	ds := make([]*deferred.Deferred, len(p.Crawlers))
	for i, c := range p.Crawlers {
		ds[i] = c.Crawl(p.Loop)
	}
	return deferred.List(ds).AddBoth(func(v any) (any, error) {
		if os, ok := v.([]deferred.Outcome); ok {
			p.results = os
		}
		_ = p.Loop.Stop()
		return v, nil
	})
}

// Run starts the crawlers when the loop runs, runs it until they are all
// done, and returns each crawler's stats, in order (nil for one that
// failed to start, such as one whose job directory is in use; the first
// such failure is the error).
func (p *CrawlerProcess) Run() ([]*Stats, error) {
	p.Loop.CallWhenRunning(func() { p.Start() })
	if err := p.Loop.Run(); err != nil {
		return nil, err
	}
	out := make([]*Stats, len(p.Crawlers))
	var err error
	for i, o := range p.results {
		out[i], _ = o.Value.(*Stats)
		if !o.OK && err == nil {
			err = o.Failure.Value()
		}
	}
	return out, err
}
