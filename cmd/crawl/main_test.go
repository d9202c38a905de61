package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/crawl/crawltest"
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
