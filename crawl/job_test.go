package crawl

import (
	"cmp"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/twistgo/twist/crawl/crawltest"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

func openTestJob(t *testing.T, dir string) (*jobStore, *Scheduler) {
	t.Helper()
	job, err := openJob(dir)
	if err != nil {
		t.Fatal(err)
	}
	job.fail = func(err error) { t.Error(err) }
	return job, newJobScheduler(job, func() error { return job.commit(newStats()) })
}

// TestJobScheduler checks the scheduler on a job directory: the queue's
// order across the memory window and the disk, the window's bound, the
// seen-set, and what a reopened job holds: every request not finished,
// the ones taken but unfinished first again.
func TestJobScheduler(t *testing.T) {
	dir := t.TempDir()
	job, s := openTestJob(t, dir)
	const n = 5000
	type entry struct{ prio, i int }
	var want []entry
	for i := range n {
		r := NewRequest(fmt.Sprintf("http://a/%d", i), nil)
		r.Priority = i % 3
		if !s.Enqueue(r) {
			t.Fatalf("request %d refused", i)
		}
		if len(s.queue) > 2*jobWindow {
			t.Fatalf("%d requests in memory", len(s.queue))
		}
		want = append(want, entry{r.Priority, i})
	}
	slices.SortFunc(want, func(a, b entry) int { return cmp.Or(b.prio-a.prio, a.i-b.i) })
	if err := job.commit(newStats()); err != nil {
		t.Fatal(err)
	}
	if s.Enqueue(NewRequest("http://a/7", nil)) || s.Enqueue(NewRequest("http://A:80/7#x", nil)) {
		t.Error("duplicate queued")
	}
	if s.Len() != n || s.Seen() != n {
		t.Errorf("len %d, seen %d, want %d", s.Len(), s.Seen(), n)
	}
	next := func(s *Scheduler) *Request {
		r := s.Next()
		if len(s.queue) > 2*jobWindow {
			t.Fatalf("%d requests in memory", len(s.queue))
		}
		return r
	}
	var taken []*Request
	for k := range n / 2 {
		r := next(s)
		if i := urlIndex(t, r.URL); i != want[k].i {
			t.Fatalf("request %d: %s, want %d", k, r.URL, want[k].i)
		}
		taken = append(taken, r)
	}
	for _, r := range taken[:n/4] {
		s.done(r)
	}
	if err := job.commit(newStats()); err != nil {
		t.Fatal(err)
	}
	if err := job.close(); err != nil {
		t.Fatal(err)
	}

	job, s = openTestJob(t, dir)
	defer job.close()
	if s.Len() != n-n/4 || s.Seen() != n {
		t.Errorf("reopened: len %d, seen %d, want %d and %d", s.Len(), s.Seen(), n-n/4, n)
	}
	if s.Enqueue(NewRequest("http://a/0", nil)) {
		t.Error("duplicate of a finished request queued after reopening")
	}
	if !s.Enqueue(NewRequest(fmt.Sprintf("http://a/%d", n+3), nil)) { // before anything is loaded: it comes last
		t.Error("new request refused after reopening")
	}
	// Taken from the disk, the window holds the first requests; ones of
	// a higher priority queued now still come first.
	first := next(s)
	for i := range 3 {
		r := NewRequest(fmt.Sprintf("http://a/%d", n+i), nil)
		r.Priority = 10
		s.Enqueue(r)
	}
	for i := range 3 {
		if r := next(s); urlIndex(t, r.URL) != n+i {
			t.Fatalf("got %s, want the priority 10 request %d", r.URL, n+i)
		}
	}
	got := []int{urlIndex(t, first.URL)}
	for r := next(s); r != nil; r = next(s) {
		got = append(got, urlIndex(t, r.URL))
	}
	var rest []int
	for _, e := range want[n/4:] {
		rest = append(rest, e.i)
	}
	rest = append(rest, n+3)
	if !slices.Equal(got, rest) {
		t.Errorf("reopened queue: %d requests, want %d, in order", len(got), len(rest))
	}
}

func urlIndex(t *testing.T, u string) int {
	var i int
	if _, err := fmt.Sscanf(u, "http://a/%d", &i); err != nil {
		t.Fatalf("url %q", u)
	}
	return i
}

// linkSpider follows every link from start.
type linkSpider struct{ start string }

func (s linkSpider) Name() string                      { return "links" }
func (s linkSpider) StartRequests() iter.Seq[*Request] { return StartURLs(s.start) }

func (s linkSpider) Parse(r *Response) (any, error) {
	var out []*Request
	for _, l := range r.Links() {
		out = append(out, NewRequest(l, nil))
	}
	return out, nil
}

// storedPaths returns the paths of the requests queued in dir's job.
func storedPaths(t *testing.T, dir string) map[string]bool {
	t.Helper()
	job, err := openJob(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer job.close()
	rs, _, err := job.load(1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range rs {
		u, _ := url.Parse(r.URL)
		out[u.Path] = true
	}
	return out
}

// TestJobKillResume kills a crawl with a job directory mid-way (the
// engine stops dead on its loop and the store is closed without
// committing what it gathered since its last commit) and resumes it. The
// guarantee: every page is fetched, and a page fetched twice is one the
// job directory still held as queued, because it was in progress at the
// kill: at most Concurrency of them, each once more.
func TestJobKillResume(t *testing.T) {
	const concurrency = 4
	site := crawltest.New(400)
	site.Latency = 2 * time.Millisecond
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	dir := t.TempDir()
	sp := linkSpider{"http://" + addr + "/page/0"}
	set := Settings{JobDir: dir, Concurrency: concurrency, PerDomain: concurrency,
		AllowedDomains: []string{"127.0.0.1"}, RetryBackoff: 5 * time.Millisecond}

	loop := webtest.RunLoop(t)
	var e *Engine
	if _, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		e = NewEngine(loop, sp, set)
		e.Start()
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	<-site.AfterHits(150)
	if _, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		e.closed = true // nothing more starts; what arrives is dropped
		return nil, e.job.db.Close()
	}); err != nil {
		t.Fatal(err)
	}
	stored := storedPaths(t, dir)

	loop2 := webtest.RunLoop(t)
	v, err := threads.BlockingCallFromThread(loop2, func() (any, error) {
		return NewEngine(loop2, sp, set).Start(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stats := v.(*Stats)
	hits := site.AllHits()
	again := 0
	for _, p := range site.Reachable() {
		switch h := hits[p]; {
		case p == "/flaky": // a 500, then its retry
			if h < 2 {
				t.Errorf("%s fetched %d times", p, h)
			}
		case h == 0:
			t.Errorf("%s never fetched", p)
		case h == 2 && stored[p]:
			again++
		case h > 1:
			t.Errorf("%s fetched %d times (queued at the kill: %v)", p, h, stored[p])
		}
	}
	if again > concurrency || hits["/robots.txt"] != 2 {
		t.Errorf("%d pages fetched again, want at most %d; robots.txt %d times", again, concurrency, hits["/robots.txt"])
	}
	if stats.Responses < len(site.Reachable()) || stats.Errors["jobdir"] != 0 {
		t.Errorf("stats of both runs: %s", stats)
	}
	t.Logf("%d pages fetched again; %d queued at the kill", again, len(stored))
}
