// Package crawltest serves a local site to crawl in tests: a link farm of
// numbered pages with the awkward cases of the real web mixed in (a 404, a
// page that fails with 500 once and then recovers, a redirect chain and a
// redirect loop, a slow page, a binary file, a robots.txt that forbids a
// directory), counting every request and the most in flight at once.
package crawltest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twistgo/twist/web"
)

// A Site is the test site's resource tree and its counters. Its counters
// are safe to read from any goroutine.
type Site struct {
	// Pages is the number of numbered pages, /page/0 to /page/Pages-1.
	Pages int
	// Latency is how long each page takes to answer; it keeps requests in
	// flight long enough to be counted together.
	Latency time.Duration
	// SlowLatency is how long /slow takes.
	SlowLatency time.Duration

	mu          sync.Mutex
	hits        map[string]int
	total       int
	waiters     []waiter
	inFlight    int
	maxInFlight int
	flaky       int
}

// New returns a site of pages numbered pages.
func New(pages int) *Site {
	return &Site{Pages: pages, Latency: time.Millisecond, SlowLatency: 30 * time.Millisecond, hits: map[string]int{}}
}

// Robots is the site's robots.txt.
const Robots = "User-agent: *\nDisallow: /private/\n"

// Reachable returns the paths a crawler following every link from
// /page/0 that robots.txt allows ends up fetching with a 2xx, 4xx or 5xx
// answer: every page, the 404, the flaky page, the slow page and the
// binary file (redirects land on pages).
func (s *Site) Reachable() []string {
	out := []string{"/missing", "/flaky", "/slow", "/data.bin"}
	for i := range s.Pages {
		out = append(out, "/page/"+strconv.Itoa(i))
	}
	return out
}

// Hits returns how many times path was requested.
func (s *Site) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// AllHits returns a copy of the request counts by path.
func (s *Site) AllHits() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.hits))
	for k, v := range s.hits {
		m[k] = v
	}
	return m
}

type waiter struct {
	n  int
	ch chan struct{}
}

// AfterHits returns a channel closed once the site has answered (begun to
// answer) n requests in all.
func (s *Site) AfterHits(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	if s.total >= n {
		close(ch)
	} else {
		s.waiters = append(s.waiters, waiter{n, ch})
	}
	return ch
}

// MaxInFlight returns the most requests the site was answering at once.
func (s *Site) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Resource returns the site's root resource, to serve with web.NewSite.
func (s *Site) Resource() web.Resource {
	return web.RenderFunc(s.render)
}

// links returns page i's outgoing links: its two children in a binary
// tree (so that every page is reachable from /page/0), a link back to a
// page seen before, and, from page 0, the special cases.
func (s *Site) links(i int) []string {
	var out []string
	for _, c := range []int{2*i + 1, 2*i + 2, (i * 7) % s.Pages} {
		if c < s.Pages {
			out = append(out, fmt.Sprintf("/page/%d", c))
		}
	}
	if i == 0 {
		out = append(out, "/missing", "/flaky", "/redirect/3", "/loop/a", "/slow",
			"/data.bin", "/private/secret", "/page/1#top", "http://offsite.invalid/", "mailto:x@example.com")
	}
	return out
}

func (s *Site) render(r *web.Request) ([]byte, error) {
	path := r.Path
	s.mu.Lock()
	s.hits[path]++
	s.total++
	s.waiters = slices.DeleteFunc(s.waiters, func(w waiter) bool {
		if s.total >= w.n {
			close(w.ch)
			return true
		}
		return false
	})
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	code, ctype, body, loc := s.answer(path)
	delay := s.Latency
	if path == "/slow" {
		delay = s.SlowLatency
	}
	r.Clock().CallLater(delay, func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
		if r.Finished() {
			return
		}
		r.SetResponseCode(code)
		if ctype != "" {
			r.SetHeader("Content-Type", ctype)
		}
		if loc != "" {
			r.SetHeader("Location", loc)
		}
		_ = r.Write([]byte(body))
		r.Finish()
	})
	return nil, web.NotDoneYet
}

func (s *Site) answer(path string) (code int, ctype, body, loc string) {
	const htmlType = "text/html; charset=utf-8"
	switch {
	case path == "/robots.txt":
		return 200, "text/plain", Robots, ""
	case path == "/" || path == "/index.html":
		return 302, htmlType, "", "/page/0"
	case strings.HasPrefix(path, "/page/"):
		i, err := strconv.Atoi(path[len("/page/"):])
		if err != nil || i < 0 || i >= s.Pages {
			break
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<!doctype html><html><head><title>Page %d</title></head><body><h1>Page %d</h1><ul>", i, i)
		for _, l := range s.links(i) {
			fmt.Fprintf(&b, `<li><a class="link" href="%s">%s</a></li>`, l, l)
		}
		b.WriteString("</ul></body></html>")
		return 200, htmlType, b.String(), ""
	case path == "/flaky":
		s.mu.Lock()
		s.flaky++
		n := s.flaky
		s.mu.Unlock()
		if n == 1 {
			return 500, htmlType, "<html><title>oops</title></html>", ""
		}
		return 200, htmlType, "<html><head><title>Recovered</title></head></html>", ""
	case strings.HasPrefix(path, "/redirect/"):
		n, err := strconv.Atoi(path[len("/redirect/"):])
		if err != nil || n < 0 {
			break
		}
		if n == 0 {
			return 301, htmlType, "", "/page/2"
		}
		return 302, htmlType, "", fmt.Sprintf("/redirect/%d", n-1)
	case path == "/loop/a":
		return 302, htmlType, "", "/loop/b"
	case path == "/loop/b":
		return 307, htmlType, "", "/loop/a"
	case path == "/slow":
		return 200, htmlType, "<html><head><title>Slow</title></head></html>", ""
	case path == "/data.bin":
		return 200, "application/octet-stream", "\x00\x01\x02<a href=/never>", ""
	case strings.HasPrefix(path, "/private/"):
		return 200, htmlType, "<html><title>secret</title></html>", ""
	}
	return 404, htmlType, "<html><head><title>Not found</title></head></html>", ""
}
