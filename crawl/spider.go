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

// SpiderCallbacks is implemented by a spider whose requests name their
// callbacks (Request.CallbackName, Request.ErrbackName), as requests
// stored in a job directory must: the engine looks the names up here.
type SpiderCallbacks interface {
	// Callbacks returns the callbacks by name.
	Callbacks() map[string]Callback
	// Errbacks returns the errbacks by name.
	Errbacks() map[string]Errback
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
