package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// farm is the link farm every crawler crawls: pages /page/0 to
// /page/pages-1, each with links to its ten children in a tree of fanout
// ten (so every page is reachable from /page/0) and to ten pages
// elsewhere (which a crawler must recognise as seen), about 1.5 KB of
// HTML. It counts the pages served and the times of the first and last.
type farm struct {
	pages       int
	mu          sync.Mutex
	hits        int
	first, last time.Time
}

// farmStats is the answer of /_stats.
type farmStats struct {
	Hits        int   `json:"hits"`
	First, Last int64 // Unix nanoseconds
}

func (f *farm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_stats":
		f.mu.Lock()
		st := farmStats{f.hits, f.first.UnixNano(), f.last.UnixNano()}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(st)
		return
	case "/_reset":
		f.mu.Lock()
		f.hits, f.first, f.last = 0, time.Time{}, time.Time{}
		f.mu.Unlock()
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/page/"))
	if err != nil || n < 0 || n >= f.pages || !strings.HasPrefix(r.URL.Path, "/page/") {
		http.NotFound(w, r)
		return
	}
	now := time.Now()
	f.mu.Lock()
	f.hits++
	if f.first.IsZero() {
		f.first = now
	}
	f.last = now
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(f.page(n))
}

func (f *farm) page(n int) []byte {
	b := make([]byte, 0, 2048)
	b = fmt.Appendf(b, "<!doctype html><html><head><title>Page %d</title></head><body><h1>Page %d</h1>\n", n, n)
	b = append(b, "<p>A page of the link farm, with some text around its links as a real page has.</p><ul>\n"...)
	link := func(k int) {
		b = fmt.Appendf(b, "<li><a href=\"/page/%d\">page %d</a></li>\n", k, k)
	}
	for c := 10*n + 1; c <= 10*n+10 && c < f.pages; c++ {
		link(c)
	}
	for k := range 10 {
		link((n*31 + k*97) % f.pages)
	}
	return append(b, "</ul></body></html>\n"...)
}

// serveFarm serves a farm of pages on a loopback port, prints its address
// and serves until killed.
func serveFarm(pages int) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr())
	return http.Serve(l, &farm{pages: pages})
}
