package crawl

import "iter"

// A Spider says where a crawl starts and what to do with the pages
// (Scrapy's Spider).
type Spider interface {
	// Name names the spider in logs.
	Name() string
	// StartRequests returns the first requests. The engine pulls from it
	// lazily, one at a time when it has room, so that it may be long or
	// endless.
	StartRequests() iter.Seq[*Request]
	// Parse is the callback of requests that have none.
	Parse(r *Response) (any, error)
}

// StartURLs returns a sequence of GET requests for urls, for a spider's
// StartRequests (Scrapy's start_urls).
func StartURLs(urls ...string) iter.Seq[*Request] {
	return func(yield func(*Request) bool) {
		for _, u := range urls {
			if !yield(NewRequest(u, nil)) {
				return
			}
		}
	}
}
