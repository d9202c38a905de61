package crawl_test

import (
	"errors"
	"iter"
	"log/slog"
	"testing"
	"time"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/crawl/crawltest"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// namedSpider's requests name their callback, so that a job directory can
// store them.
type namedSpider struct{ start string }

func (s namedSpider) Name() string { return "named" }

func (s namedSpider) StartRequests() iter.Seq[*crawl.Request] {
	return func(yield func(*crawl.Request) bool) {
		yield(&crawl.Request{URL: s.start, CallbackName: "page"})
	}
}

func (s namedSpider) Parse(r *crawl.Response) (any, error) {
	return nil, errors.New("Parse called for a request that names its callback")
}

func (s namedSpider) Callbacks() map[string]crawl.Callback {
	return map[string]crawl.Callback{"page": func(r *crawl.Response) (any, error) {
		out := []any{map[string]any{"url": r.URL}}
		for _, l := range r.Links() {
			out = append(out, &crawl.Request{URL: l, CallbackName: "page"})
		}
		return out, nil
	}}
}

func (s namedSpider) Errbacks() map[string]crawl.Errback { return nil }

// crawlAt crawls with sp on a loop of its own and returns the stats.
func crawlAt(t *testing.T, sp crawl.Spider, set crawl.Settings) *crawl.Stats {
	t.Helper()
	loop := webtest.RunLoop(t)
	v, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		return crawl.NewCrawler(sp, set).Crawl(loop), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*crawl.Stats)
}

// TestJobDirStopResume stops a crawl with a job directory gracefully
// (MaxPages, as Ctrl-C does: what is in progress finishes) and resumes it
// twice: nothing is fetched twice, the stats add up over the runs, and a
// finished job fetches nothing more.
func TestJobDirStopResume(t *testing.T) {
	site := crawltest.New(300)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	sp := namedSpider{"http://" + addr + "/page/0"}
	set := crawl.Settings{JobDir: t.TempDir(), Concurrency: 4, AllowedDomains: []string{"127.0.0.1"}, RetryBackoff: 5 * time.Millisecond}

	first := set
	first.MaxPages = 60
	st := crawlAt(t, sp, first)
	if st.Responses < 60 || st.Responses > 80 || st.Errors["callback"] != 0 {
		t.Fatalf("first run: %s", st)
	}
	st = crawlAt(t, sp, set)
	total := 0
	for p, h := range site.AllHits() {
		total += h
		want := 1
		if p == "/robots.txt" || p == "/flaky" { // once a run; a 500 and its retry
			want = 2
		}
		if h != want {
			t.Errorf("%s fetched %d times, want %d", p, h, want)
		}
	}
	for _, p := range site.Reachable() {
		if site.Hits(p) == 0 {
			t.Errorf("%s never fetched", p)
		}
	}
	if st.Responses != total || st.Items != len(site.Reachable())-1 { // the 404 has no item
		t.Errorf("stats of both runs: %d responses of %d, %d items; %s", st.Responses, total, st.Items, st)
	}
	if st = crawlAt(t, sp, set); st.Responses != total || st.Filtered["duplicate"] == 0 {
		t.Errorf("third run: %s", st)
	}
	if after := site.AllHits(); after["/page/0"] != 1 || after["/robots.txt"] != 2 {
		t.Errorf("the finished job fetched again: %v", after)
	}
}

// TestJobDirUnnamedCallback: a request whose callback is a func with no
// name cannot be stored, so a crawl with a job directory refuses it.
func TestJobDirUnnamedCallback(t *testing.T) {
	site := crawltest.New(5)
	addr := webtest.Serve(t, web.NewSite(site.Resource()))
	sp := &stopSpider{start: "http://" + addr + "/page/0", parse: func() {}}
	st := crawlAt(t, funcSpider{sp}, crawl.Settings{JobDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if st.Errors["persist"] != 1 || st.Requests != 0 || len(site.AllHits()) != 0 {
		t.Errorf("%s; hits %v", st, site.AllHits())
	}
}

// funcSpider's start request has a func callback.
type funcSpider struct{ *stopSpider }

func (s funcSpider) StartRequests() iter.Seq[*crawl.Request] {
	return func(yield func(*crawl.Request) bool) { yield(crawl.NewRequest(s.start, s.Parse)) }
}
