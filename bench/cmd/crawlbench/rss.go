package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rssSample is one second of the -rss run.
type rssSample struct {
	Seconds float64 `json:"seconds"`
	Pages   int     `json:"pages"`
	RSS     int64   `json:"rss_bytes"`
	// Anon is the anonymous part of RSS (the Go heap, stacks); File the
	// pages of mapped files (the job database, which bbolt maps; the
	// kernel may drop them under pressure).
	Anon int64 `json:"rss_anon_bytes"`
	File int64 `json:"rss_file_bytes"`
}

// rssReport is the -rss run's -json output.
type rssReport struct {
	Bench   string      `json:"bench"`
	Pages   int         `json:"pages"`
	Command []string    `json:"command"`
	Seconds float64     `json:"seconds"`
	Samples []rssSample `json:"samples"`
	// After the warm-up (the first tenth of the crawl's pages): RSS and
	// its anonymous part.
	RSS  spread `json:"rss_after_warmup"`
	Anon spread `json:"anon_after_warmup"`
}

// spread is the median, least and most of samples, and whether all were
// within ±10% of the median.
type spread struct {
	Median int64 `json:"median_bytes"`
	Min    int64 `json:"min_bytes"`
	Max    int64 `json:"max_bytes"`
	Flat   bool  `json:"flat"`
}

func spreadOf(v []int64) spread {
	if len(v) == 0 {
		return spread{}
	}
	v = slices.Clone(v)
	slices.Sort(v)
	s := spread{Median: v[len(v)/2], Min: v[0], Max: v[len(v)-1]}
	s.Flat = float64(s.Max) <= 1.1*float64(s.Median) && float64(s.Min) >= 0.9*float64(s.Median)
	return s
}

func (s spread) String() string {
	return fmt.Sprintf("median %.1f MiB, min %.1f, max %.1f, flat within ±10%%: %v", mib(s.Median), mib(s.Min), mib(s.Max), s.Flat)
}

// memory returns process pid's resident memory from /proc/PID/status:
// in all, anonymous, and of mapped files.
func memory(pid int) (rss, anon, file int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	fields := map[string]*int64{"VmRSS": &rss, "RssAnon": &anon, "RssFile": &file}
	for line := range strings.Lines(string(b)) {
		name, v, _ := strings.Cut(line, ":")
		if p := fields[name]; p != nil {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("%s: %w", name, err)
			}
			*p = kib << 10
		}
	}
	return rss, anon, file, nil
}

// rssRun crawls a farm of pages once with bin --jobdir, pinned to CPU 1,
// and samples the crawler's resident memory every second.
func rssRun(bin string, pages, concurrency int, jsonOut bool) error {
	if bin == "" {
		return errors.New("-rss needs -crawl-bin, the cmd/crawl binary")
	}
	s, err := startSite(pages)
	if err != nil {
		return err
	}
	defer s.stop()
	dir, err := os.MkdirTemp("", "crawlbench-rss")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c := strconv.Itoa(concurrency)
	args := []string{"taskset", "-c", "1", bin, "--jobdir", dir + "/job", "--out", os.DevNull, "--obey-robots=false",
		"--concurrency", c, "--per-domain", c, s.url("/page/0")}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	rep := rssReport{Bench: "crawlbench-rss", Pages: pages, Command: args}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("crawl: %w", err)
			}
			running = false
		case <-tick.C:
			rss, anon, file, err := memory(cmd.Process.Pid)
			if err != nil {
				continue // exiting
			}
			st, err := s.stats()
			if err != nil {
				return err
			}
			sm := rssSample{time.Since(begin).Seconds(), st.Hits, rss, anon, file}
			rep.Samples = append(rep.Samples, sm)
			if !jsonOut {
				fmt.Printf("%6.0f s %7d pages  RSS %6.1f MiB  anon %6.1f  file %6.1f\n", sm.Seconds, sm.Pages, mib(rss), mib(anon), mib(file))
			}
		}
	}
	rep.Seconds = time.Since(begin).Seconds()
	var rss, anon []int64
	for _, sm := range rep.Samples {
		if sm.Pages >= pages/10 {
			rss, anon = append(rss, sm.RSS), append(anon, sm.Anon)
		}
	}
	rep.RSS, rep.Anon = spreadOf(rss), spreadOf(anon)
	if jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	st, err := s.stats()
	if err != nil {
		return err
	}
	fmt.Printf("%d of %d pages in %.0f s with --jobdir; after the first tenth of the pages (%d samples):\n  RSS:  %s\n  anon: %s\n",
		st.Hits, pages, rep.Seconds, len(rss), rep.RSS, rep.Anon)
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
