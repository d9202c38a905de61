package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twistgo/twist/crawl/crawltest"
	"github.com/twistgo/twist/internal/promtool"
	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

func TestCrawlCommand(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantLines int
		secret    int // fetches of the page robots.txt forbids
	}{
		// The pages, the 404, the recovered 500, the slow page and the binary file.
		{"site", nil, 54, 0},
		{"max pages", []string{"--max-pages", "5", "--concurrency", "1"}, 5, 0},
		{"max depth", []string{"--max-depth", "1"}, 1 + 2 + 4, 0}, // page 0, pages 1 and 2, the 404, flaky, slow, data
		{"ignore robots", []string{"--obey-robots=false"}, 55, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			site := crawltest.New(50)
			addr := webtest.Serve(t, web.NewSite(site.Resource()))
			out := filepath.Join(t.TempDir(), "pages.jsonl")
			var stderr bytes.Buffer
			args := append([]string{"--out", out, "--per-domain", "4", "--retry-backoff", "5ms"}, tc.args...)
			args = append(args, "http://"+addr+"/page/0")
			if err := run(args, &bytes.Buffer{}, &stderr, nil); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != tc.wantLines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tc.wantLines, b)
			}
			var p page
			if err := json.Unmarshal([]byte(lines[0]), &p); err != nil || p.Title != "Page 0" || p.Status != 200 || p.Depth != 0 || p.Links != 11 {
				t.Errorf("first line %s: %+v %v", lines[0], p, err)
			}
			if got := site.Hits("/private/secret"); got != tc.secret {
				t.Errorf("forbidden page fetched %d times", got)
			}
			if !strings.Contains(stderr.String(), "pages/min") {
				t.Errorf("no stats: %s", stderr.String())
			}
		})
	}
}

func TestCrawlCommandCSV(t *testing.T) {
	site := crawltest.New(3)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	var stdout bytes.Buffer
	args := []string{"--format", "csv", "--max-pages", "1", "http://" + addr + "/page/0"}
	if err := run(args, &stdout, &bytes.Buffer{}, nil); err != nil {
		t.Fatal(err)
	}
	want := "url,status,title,depth,links\nhttp://" + addr + "/page/0,200,Page 0,0,11\n"
	if stdout.String() != want {
		t.Errorf("CSV %q, want %q", stdout.String(), want)
	}
}

func TestCrawlCommandProgress(t *testing.T) {
	progressEvery = 5 * time.Millisecond
	defer func() { progressEvery = time.Second }()
	site := crawltest.New(10)
	site.Latency = 5 * time.Millisecond
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	var stderr bytes.Buffer
	args := []string{"--progress", "--retry-backoff", "1ms", "--out", filepath.Join(t.TempDir(), "out"), "http://" + addr + "/page/0"}
	if err := run(args, &bytes.Buffer{}, &stderr, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "\r") || !strings.Contains(stderr.String(), " pages, ") {
		t.Errorf("no progress line: %q", stderr.String())
	}
}

func TestCrawlCommandErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"ftp://x/"}, {"--concurrency", "x", "http://a/"}, {"--format", "xml", "http://a/"}} {
		if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}, nil); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// --status serves the status page while the crawl runs; an address taken
// stops the crawl, saying why.
func TestCrawlCommandStatus(t *testing.T) {
	site := crawltest.New(3)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	var stderr bytes.Buffer
	args := []string{"--status", "127.0.0.1:0", "--max-pages", "2", "--out", filepath.Join(t.TempDir(), "out"), "http://" + addr + "/page/0"}
	if err := run(args, &bytes.Buffer{}, &stderr, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "crawl: status page at http://127.0.0.1:") {
		t.Errorf("no status page: %q", stderr.String())
	}
	stderr.Reset()
	args[1] = addr // taken, by the site
	if err := run(args, &bytes.Buffer{}, &stderr, nil); err == nil || !strings.HasPrefix(err.Error(), "--status: ") {
		t.Errorf("a taken address: %v", err)
	}
}

// statusWriter is the crawl's standard error for TestCrawlCommandStatusPage:
// it keeps what is written, and sends the status page's address once.
type statusWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := statusLine.FindSubmatch(b); m != nil {
		w.addr <- string(m[1])
	}
	return w.buf.Write(b)
}

var statusLine = regexp.MustCompile(`crawl: status page at http://(\S+)/`)

// TestCrawlCommandStatusPage crawls a link farm with --status while its
// start page is held, and finds the crawl's section in /status.json and in
// /metrics: one request in flight, the client connection open.
func TestCrawlCommandStatusPage(t *testing.T) {
	site := crawltest.New(3)
	farm := webtest.Serve(t, web.NewSite(site.Resource()))
	release := make(chan struct{})
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/gate" {
			http.NotFound(w, r)
			return
		}
		<-release
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><title>Gate</title><a href="http://%s/page/0">in</a></html>`, farm)
	}))
	defer gate.Close()
	stderr := &statusWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		args := []string{"--status", "127.0.0.1:0", "--max-pages", "4", "--out", filepath.Join(t.TempDir(), "out"), gate.URL + "/gate"}
		done <- run(args, &bytes.Buffer{}, stderr, nil)
	}()
	var addr string
	select {
	case addr = <-stderr.addr:
	case err := <-done:
		t.Fatalf("the crawl ended before its status page was up: %v", err)
	}
	func() {
		defer close(release)
		// The stream's first events carry the samples taken so far: read
		// until one has the gate's request in flight, after which
		// /status.json has it too.
		// The time-out fails the test if no sample shows it held.
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		type sample struct {
			Sections []metrics.Section `json:"sections"`
			Clients  metrics.Clients   `json:"clients"`
			Rates    struct {
				Sections map[string]map[string]float64 `json:"sections"`
			} `json:"rates"`
		}
		// held reports whether s shows the crawl waiting for the gate:
		// robots.txt fetched (a 404), the gate's request in flight on a
		// client connection.
		held := func(s *sample) bool {
			figs := map[string]float64{}
			if len(s.Sections) == 1 && s.Sections[0].Name == "crawl" && s.Sections[0].Responding {
				for _, f := range s.Sections[0].Figures {
					figs[f.Key()] = f.Value
				}
			}
			_, rated := s.Rates.Sections["crawl"]["requests"]
			return figs["requests"] == 2 && figs["in_flight"] == 1 && figs["queued"] == 0 && figs["pages_fetched"] == 1 &&
				rated && s.Clients.Open >= 1
		}
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || !strings.HasPrefix(line, "{") {
				continue // the history is an array
			}
			var s sample
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				t.Fatal(err)
			}
			if held(&s) {
				break
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("no sample with the crawl held by its gate: %v", err)
		}
		var doc sample
		body := get(t, "http://"+addr+"/status.json")
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%v:\n%s", err, body)
		}
		if !held(&doc) {
			t.Errorf("/status.json shows no crawl held by its gate:\n%s", body)
		}
		text := string(get(t, "http://"+addr+"/metrics"))
		for _, want := range []string{"twist_crawl_requests_total 2\n", "twist_crawl_in_flight 1\n", "twist_crawl_pages_fetched_total 1\n", "# HELP twist_crawl_queued Requests waiting in the scheduler.\n", "twist_client_connections_open "} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %q:\n%s", want, text)
			}
		}
		promtool.Check(t, []byte(text))
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stderr.mu.Lock()
	defer stderr.mu.Unlock()
	if !strings.Contains(stderr.buf.String(), "responses 6,") { // robots.txt, the gate, 4 pages
		t.Errorf("the crawl did not go on once the gate opened: %s", stderr.buf.String())
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v\n%s", url, resp.Status, err, b)
	}
	return b
}
