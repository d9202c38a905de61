package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twistgo/twist/crawl/crawltest"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// buildCrawl builds the command into a temporary directory.
func buildCrawl(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the command with:", err)
	}
	bin := filepath.Join(t.TempDir(), "crawl")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestJobDirSignals stops the built command mid-crawl with Ctrl-C
// (SIGINT), Ctrl-C twice, or kills it (SIGKILL), then runs it again with
// the same --jobdir until the crawl is done. After Ctrl-C, which lets the
// downloads in flight finish, no page is fetched twice; after a second
// Ctrl-C or a kill, the pages in progress (at most --concurrency) are
// fetched again, once.
func TestJobDirSignals(t *testing.T) {
	bin := buildCrawl(t)
	const concurrency = 4
	for _, tc := range []struct {
		name     string
		sigs     []syscall.Signal
		maxAgain int
	}{
		{"ctrl-c", []syscall.Signal{syscall.SIGINT}, 0},
		{"ctrl-c twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, concurrency},
		{"kill", []syscall.Signal{syscall.SIGKILL}, concurrency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := crawltest.New(400)
			site.Latency = 2 * time.Millisecond
			addr := webtest.Serve(t, web.NewSite(site.Resource()))
			dir := t.TempDir()
			out := filepath.Join(dir, "pages.jsonl")
			args := []string{"--jobdir", filepath.Join(dir, "job"), "--out", out, "--concurrency", "4", "--per-domain", "4",
				"--retry-backoff", "5ms", "http://" + addr + "/page/0"}

			var stderr bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			<-site.AfterHits(150)
			for _, sig := range tc.sigs {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			if tc.sigs[0] == syscall.SIGINT && (err != nil || !strings.Contains(stderr.String(), "stopping after the downloads in flight")) {
				t.Fatalf("after Ctrl-C: %v\n%s", err, stderr.String())
			}
			stopped := 0
			for _, h := range site.AllHits() {
				stopped += h
			}
			if stopped >= len(site.Reachable()) {
				t.Fatalf("the first run fetched %d pages: not stopped mid-way", stopped)
			}

			if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("resumed run: %v\n%s", err, b)
			}
			again := 0
			for p, h := range site.AllHits() {
				want := 1
				switch p {
				case "/robots.txt": // once a run
					want = 2
				case "/flaky": // a 500, then its retry
					want = 2
				}
				if h == want+1 {
					again++
				} else if h != want {
					t.Errorf("%s fetched %d times, want %d", p, h, want)
				}
			}
			if again > tc.maxAgain {
				t.Errorf("%d pages fetched again, want at most %d", again, tc.maxAgain)
			}
			for _, p := range site.Reachable() {
				if site.Hits(p) == 0 {
					t.Errorf("%s never fetched", p)
				}
			}
			if tc.maxAgain == 0 {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(b), "\n"); n != len(site.Reachable()) {
					t.Errorf("feed of both runs: %d lines, want %d", n, len(site.Reachable()))
				}
			}
		})
	}
}
