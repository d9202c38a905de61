package crawl

import (
	"log/slog"
	"time"

	"github.com/twistgo/twist/clock"
)

// Defaults of Settings.
const (
	DefaultConcurrency      = 16                // Scrapy's CONCURRENT_REQUESTS
	DefaultPerDomain        = 8                 // Scrapy's CONCURRENT_REQUESTS_PER_DOMAIN
	DefaultDownloadTimeout  = 180 * time.Second // Scrapy's DOWNLOAD_TIMEOUT
	DefaultMaxRetries       = 2                 // Scrapy's RETRY_TIMES
	DefaultRetryBackoff     = time.Second
	DefaultMaxRedirects     = 20       // Scrapy's REDIRECT_MAX_TIMES
	DefaultMaxResponseSize  = 32 << 20 // Scrapy's DOWNLOAD_MAXSIZE is 1 GiB; a page rarely needs more than this
	DefaultUserAgent        = "twist-crawl/1.0"
	DefaultMaxThrottleDelay = 60 * time.Second // Scrapy's AUTOTHROTTLE_MAX_DELAY
)

// Settings configure an engine; a zero field takes its default.
type Settings struct {
	// Concurrency bounds the requests in progress at once. Default 16.
	Concurrency int
	// PerDomain bounds the downloads in flight to one host (and port).
	// Default 8.
	PerDomain int
	// DownloadDelay is the least time between the starts of two
	// downloads from one host. Default 0.
	DownloadDelay time.Duration
	// AutoThrottle adapts each host's delay to its observed latency
	// (Scrapy's AutoThrottle): after each response the delay moves halfway
	// to latency/ThrottleTarget, never below DownloadDelay nor above
	// DefaultMaxThrottleDelay; an error status never lowers it.
	AutoThrottle bool
	// ThrottleTarget is the number of requests AutoThrottle aims to keep
	// in flight to each host. Default 1.
	ThrottleTarget float64
	// DownloadTimeout bounds connecting, waiting for a response's head and
	// each wait for more of its body. Default 180 s.
	DownloadTimeout time.Duration
	// MaxRetries bounds the retries of a request that timed out, failed to
	// connect or was answered 500, 502, 503, 504, 522, 524, 408 or 429.
	// Default 2; negative retries nothing.
	MaxRetries int
	// RetryBackoff is the wait before the first retry; it doubles for each
	// one after. Default 1 s.
	RetryBackoff time.Duration
	// MaxRedirects bounds the redirects followed from one request. Default
	// 20; negative follows none (a 3xx is then an error status).
	MaxRedirects int
	// MaxDepth drops requests more than this many links from a start
	// request. Default 0: no limit.
	MaxDepth int
	// MaxPages bounds the requests the engine downloads (retries and
	// redirects aside); then it finishes what is in progress and closes.
	// It counts this run's: a resumed job (JobDir) starts from zero.
	// Default 0: no limit.
	MaxPages int
	// AllowedDomains, when not empty, drops requests (other than
	// DontFilter ones) for hosts that are not one of these domains or
	// below one (Scrapy's OffsiteMiddleware).
	AllowedDomains []string
	// MaxResponseSize bounds a response's body; a bigger one fails with
	// client.ErrBodyTooLarge. Default 32 MiB.
	MaxResponseSize int64
	// IgnoreRobots fetches pages robots.txt disallows. By default each
	// host's robots.txt is fetched first and obeyed.
	IgnoreRobots bool
	// AllowErrorStatus hands responses with a status of 400 or more to
	// the callback instead of the errback (Scrapy's HTTPERROR_ALLOW_ALL).
	AllowErrorStatus bool
	// UserAgent is sent with every request and matched against
	// robots.txt. Default "twist-crawl/1.0".
	UserAgent string
	// JobDir, when set, makes the crawl resumable (Scrapy's JOBDIR): the
	// queue, the seen-set and the stats live in a database in this
	// directory, and a later crawl with the same JobDir continues where
	// this one stopped. Only a window of the queue is held in memory.
	// After a graceful stop nothing is fetched twice; after a kill, the
	// requests that were in progress (at most Concurrency) are fetched
	// again, once. Requests must then be storable: see
	// Request.CallbackName; Meta must encode to JSON and comes back as
	// decoded JSON (numbers as float64). Items are written by the
	// pipelines as they come, so a re-fetched page's items may be
	// written twice.
	JobDir string
	// Pipelines process each item in order (Scrapy's ITEM_PIPELINES).
	Pipelines []Pipeline
	// Clock times delays and back-off; nil uses the loop.
	Clock clock.Clock
	// Logger receives errors; nil uses slog.Default().
	Logger *slog.Logger
}

func (s Settings) withDefaults() Settings {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.Concurrency, DefaultConcurrency)
	def(&s.PerDomain, DefaultPerDomain)
	def(&s.MaxRetries, DefaultMaxRetries)
	def(&s.MaxRedirects, DefaultMaxRedirects)
	if s.DownloadTimeout == 0 {
		s.DownloadTimeout = DefaultDownloadTimeout
	}
	if s.RetryBackoff == 0 {
		s.RetryBackoff = DefaultRetryBackoff
	}
	if s.MaxResponseSize == 0 {
		s.MaxResponseSize = DefaultMaxResponseSize
	}
	if s.ThrottleTarget <= 0 {
		s.ThrottleTarget = 1
	}
	if s.UserAgent == "" {
		s.UserAgent = DefaultUserAgent
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return s
}
