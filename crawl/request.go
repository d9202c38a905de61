package crawl

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/twistgo/twist/web"
)

// A Callback handles a response and returns what it produced (Scrapy's
// callbacks yield it): nil, an item, a *Request, a slice or an
// iter.Seq[any] of items and requests, or a *deferred.Deferred that fires
// with any of these. Any value that is not a *Request, a slice, a sequence,
// a Deferred or nil is an item.
type Callback func(r *Response) (any, error)

// An Errback handles a request that failed: its download failed for good
// (after retries), or it was answered with an error status (4xx or 5xx
// after retries). It returns output as a Callback does.
type Errback func(req *Request, err error) (any, error)

// A Request is a page to fetch and what to do with it (Scrapy's Request).
type Request struct {
	// URL is the absolute http or https URL.
	URL string
	// Method is the HTTP method; empty means GET.
	Method string
	// Headers are sent with the request; nil sends none of its own.
	Headers *web.Header
	// Body is sent with a Content-Length when not nil.
	Body []byte
	// Callback handles the response; nil means the spider's Parse.
	Callback Callback
	// Errback handles a failure; nil logs it and counts it in the stats.
	Errback Errback
	// CallbackName and ErrbackName name the callback and errback among
	// the spider's (see SpiderCallbacks), for a request used when Callback
	// or Errback is nil. A crawl with a job directory stores requests on
	// disk, where a func cannot go: there a request's callbacks must be
	// nil (the spider's Parse) or named, as Scrapy stores the name of a
	// spider method; a request with an unnamed func is refused with
	// ErrNotPersistable.
	CallbackName, ErrbackName string
	// Priority orders the queue: higher first; equal ones in FIFO order.
	Priority int
	// Meta carries values from the code that made the request to the
	// callback; the engine does not look at it.
	Meta map[string]any
	// DontFilter lets the request through the scheduler's de-duplication
	// (and the allowed-domains filter), as Scrapy's dont_filter does.
	DontFilter bool
	// Depth is how many responses led to this request: 0 for a start
	// request, one more than the response's for a request a callback
	// returns. The engine sets it.
	Depth int

	retries   int                    // retries made so far
	key       []byte                 // its key in the job directory's queue, if it has one
	redirects int                    // redirects followed to reach this request
	then      func(*Response, error) // the download's handler while it is queued in a slot
}

// NewRequest returns a GET request for url with callback cb (nil: the
// spider's Parse).
func NewRequest(url string, cb Callback) *Request {
	return &Request{URL: url, Callback: cb}
}

// method returns the request's method, GET when unset.
func (r *Request) method() string {
	if r.Method == "" {
		return "GET"
	}
	return r.Method
}

// follow returns a new request for a redirect or a retry of r: the same
// callbacks, meta, priority and depth.
func (r *Request) follow(url string) *Request {
	n := *r
	n.URL = url
	return &n
}

// Fingerprint identifies a request for de-duplication: the method, the
// canonical URL (scheme and host in lower case, no fragment, the query's
// parameters sorted) and the body, hashed (Scrapy's request_fingerprint).
func Fingerprint(r *Request) string {
	fp := fingerprint(r)
	return hex.EncodeToString(fp[:])
}

func fingerprint(r *Request) [16]byte {
	h := sha256.New()
	h.Write([]byte(r.method()))
	h.Write([]byte{0})
	h.Write([]byte(Canonical(r.URL)))
	h.Write([]byte{0})
	h.Write(r.Body)
	var fp [16]byte
	copy(fp[:], h.Sum(make([]byte, 0, sha256.Size)))
	return fp
}

// Canonical returns url in canonical form for fingerprints: scheme and host
// in lower case, the default port dropped, the fragment dropped, an empty
// path as "/", and the query's parameters sorted. A URL that does not
// parse is returned as it is.
func Canonical(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
		u.Host = u.Hostname()
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	if u.RawQuery != "" {
		// Encode sorts by key and keeps each key's values in order.
		u.RawQuery = u.Query().Encode()
	}
	return u.String()
}
