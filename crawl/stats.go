package crawl

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Stats are what a crawl did (Scrapy's stats collector). The engine
// writes them on its loop; read them once the crawl is done.
type Stats struct {
	Start, Finish time.Time
	// Requests counts downloads started, retries included.
	Requests int
	// Responses counts the responses received, by status in ByStatus.
	Responses int
	ByStatus  map[int]int
	// Bytes counts the body bytes received.
	Bytes int64
	// Items counts the items that passed every pipeline; ItemsDropped the
	// ones a pipeline dropped.
	Items, ItemsDropped int
	// Retries and Redirects count the retries scheduled and the redirects
	// followed.
	Retries, Redirects int
	// Filtered counts the requests dropped before download, by reason:
	// "duplicate", "offsite", "depth", "robots", "invalid".
	Filtered map[string]int
	// Errors counts failures by kind: "timeout", "download",
	// "too_large", "http_status", "redirects", "callback", "pipeline".
	Errors map[string]int
}

func newStats() *Stats {
	return &Stats{ByStatus: map[int]int{}, Filtered: map[string]int{}, Errors: map[string]int{}}
}

// PagesPerMinute is the rate of responses over the crawl's duration.
func (s *Stats) PagesPerMinute() float64 {
	d := s.Finish.Sub(s.Start)
	if d <= 0 {
		return 0
	}
	return float64(s.Responses) / d.Minutes()
}

// String formats the stats as a few lines for a terminal.
func (s *Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests %d, responses %d, items %d (dropped %d), bytes %d, retries %d, redirects %d\n",
		s.Requests, s.Responses, s.Items, s.ItemsDropped, s.Bytes, s.Retries, s.Redirects)
	fmt.Fprintf(&b, "elapsed %s, %.0f pages/min\n", s.Finish.Sub(s.Start).Round(time.Millisecond), s.PagesPerMinute())
	b.WriteString("status:")
	for _, k := range slices.Sorted(maps.Keys(s.ByStatus)) {
		fmt.Fprintf(&b, " %d=%d", k, s.ByStatus[k])
	}
	b.WriteString("\nfiltered:")
	for _, k := range slices.Sorted(maps.Keys(s.Filtered)) {
		fmt.Fprintf(&b, " %s=%d", k, s.Filtered[k])
	}
	b.WriteString("\nerrors:")
	for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
		fmt.Fprintf(&b, " %s=%d", k, s.Errors[k])
	}
	b.WriteString("\n")
	return b.String()
}
