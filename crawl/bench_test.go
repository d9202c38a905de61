package crawl_test

import (
	"testing"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/crawl/crawltest"
)

// BenchmarkCrawl crawls a 1000-page local link farm whose pages answer at
// once; it reports pages per second (the server shares the machine).
func BenchmarkCrawl(b *testing.B) {
	pages := 0
	for b.Loop() {
		site := crawltest.New(1000)
		site.Latency, site.SlowLatency = 0, 0
		stats, _ := crawlSite(b, site, crawl.Settings{})
		pages += stats.Responses
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}
