package crawl_test

import (
	"testing"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/crawl/crawltest"
)

// BenchmarkCrawl crawls a 1000-page local link farm whose pages answer at
// once, with the queue in memory and in a job directory; it reports pages
// per second (the server shares the machine).
func BenchmarkCrawl(b *testing.B) {
	for _, jobdir := range []bool{false, true} {
		name := "memory"
		if jobdir {
			name = "jobdir"
		}
		b.Run(name, func(b *testing.B) {
			pages := 0
			for b.Loop() {
				site := crawltest.New(1000)
				site.Latency, site.SlowLatency = 0, 0
				set := crawl.Settings{}
				if jobdir {
					set.JobDir = b.TempDir()
				}
				stats, _ := crawlSite(b, site, set)
				pages += stats.Responses
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}
