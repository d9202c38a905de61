package status

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// fakeSource counts one loop's events by hand.
type fakeSource struct {
	clk    *task.Clock
	events uint64
	calls  prometheus.Counter
}

func newFakeSource(clk *task.Clock) *fakeSource {
	return &fakeSource{clk: clk, calls: prometheus.NewCounter(prometheus.CounterOpts{Name: "twist_test_calls_total", Help: "Calls."})}
}

func (f *fakeSource) Snapshot() metrics.Snapshot {
	return metrics.Snapshot{Time: f.clk.Now(), Loops: []metrics.Loop{{Name: "main", Events: f.events}}, Goroutines: 7}
}

func (f *fakeSource) Register(r prometheus.Registerer) error { return r.Register(f.calls) }

// testPage is a started Page on a fake clock, served by a Site.
type testPage struct {
	*Page
	src  *fakeSource
	site *web.Site
	clk  *task.Clock
}

func newTestPage(t *testing.T, opts Options) *testPage {
	t.Helper()
	clk := task.NewClock()
	src := newFakeSource(clk)
	p, err := New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	p.start(clk, func(done func(metrics.Snapshot)) { done(src.Snapshot()) })
	t.Cleanup(p.Stop)
	return &testPage{Page: p, src: src, site: &web.Site{Resource: p.Resource(), Clock: clk}, clk: clk}
}

func (tp *testPage) get(t *testing.T, target string, header ...string) *webtest.Response {
	t.Helper()
	c := webtest.Connect(tp.site)
	c.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(header, "") + "\r\n")
	return c.Must(t)
}

func TestStatusJSON(t *testing.T) {
	el := NewErrorLog(slog.DiscardHandler, 4, slog.LevelError)
	tp := newTestPage(t, Options{Errors: el, Title: "probe"})
	tp.src.events = 100
	tp.clk.Advance(DefaultInterval)
	tp.src.events = 350
	slog.New(el).Error("boom", "peer", "127.0.0.1:9")
	tp.clk.Advance(DefaultInterval / 2)
	tp.clk.Advance(DefaultInterval / 2)

	r := tp.get(t, "/status.json")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status.json: %d %v", r.Status, r.Header)
	}
	var doc struct {
		Title       string
		Goroutines  int
		ErrorsTotal int64 `json:"errors_total"`
		Loops       []struct{ Name string }
		Rates       struct {
			Seconds float64
			Loops   map[string]struct{ Events float64 }
		}
		Errors []ErrorRecord
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.Body)
	}
	if doc.Title != "probe" || doc.Goroutines != 7 || len(doc.Loops) != 1 || doc.Loops[0].Name != "main" {
		t.Errorf("document %+v", doc)
	}
	if doc.Rates.Seconds != 1 || doc.Rates.Loops["main"].Events != 250 {
		t.Errorf("rates %+v, want 250 events/s over 1 s", doc.Rates)
	}
	if doc.ErrorsTotal != 1 || len(doc.Errors) != 1 || doc.Errors[0].Message != "boom" || doc.Errors[0].Attrs != "peer=127.0.0.1:9" {
		t.Errorf("errors %d %+v", doc.ErrorsTotal, doc.Errors)
	}
	if len(tp.history) != 3 {
		t.Errorf("%d samples kept, want 3", len(tp.history))
	}
}

func TestHistoryIsBounded(t *testing.T) {
	tp := newTestPage(t, Options{History: 5, Interval: time.Second})
	for range 20 {
		tp.clk.Advance(time.Second)
	}
	if len(tp.history) != 5 || !tp.history[4].Time.Equal(tp.clk.Now()) {
		t.Fatalf("%d samples, last at %v; want 5, the last now", len(tp.history), tp.history[len(tp.history)-1].Time)
	}
}

// While a snapshot is being taken (a loop stuck in a callback holds it),
// ticks ask for no other.
func TestSlowSnapshotIsNotDoubled(t *testing.T) {
	tp := newTestPage(t, Options{Interval: time.Second})
	var pending []func(metrics.Snapshot)
	tp.start(tp.clk, func(done func(metrics.Snapshot)) { pending = append(pending, done) })
	tp.clk.Advance(time.Second)
	tp.clk.Advance(time.Second)
	if len(pending) != 1 {
		t.Fatalf("%d snapshots asked for while one was pending", len(pending))
	}
	n := len(tp.history)
	pending[0](tp.src.Snapshot())
	tp.clk.Advance(time.Second)
	if len(tp.history) != n+1 || len(pending) != 2 {
		t.Errorf("after the snapshot came: %d samples (want %d), %d asked (want 2)", len(tp.history), n+1, len(pending))
	}
}

func TestAuth(t *testing.T) {
	tp := newTestPage(t, Options{Token: "s3cret"})
	for _, tc := range []struct {
		target, header string
		want           int
	}{
		{"/status.json", "", 401},
		{"/status.json", "Authorization: Bearer wrong\r\n", 401},
		{"/status.json", "Authorization: Basic czNjcmV0\r\n", 401},
		{"/status.json", "Authorization: Bearer s3cret\r\n", 200},
		{"/status.json?token=s3cret", "", 200},
		{"/status.json?token=s3cre", "", 401},
		{"/?token=s3cret", "", 200},
		{"/", "", 401},
		{"/metrics", "", 401},
		{"/events", "", 401},
		{"/app.js", "", 200},
		{"/style.css", "", 200},
		{"/nothing?token=s3cret", "", 404},
	} {
		r := tp.get(t, tc.target, tc.header)
		if r.Status != tc.want {
			t.Errorf("GET %s %q: %d, want %d", tc.target, tc.header, r.Status, tc.want)
		}
		if r.Status == 401 && r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", tc.target)
		}
	}
}

func TestAssets(t *testing.T) {
	tp := newTestPage(t, Options{})
	for _, tc := range []struct{ target, ctype, has string }{
		{"/", "text/html; charset=utf-8", `<script src="app.js"`},
		{"/app.js", "text/javascript; charset=utf-8", "EventSource"},
		{"/style.css", "text/css; charset=utf-8", ".chart"},
	} {
		r := tp.get(t, tc.target)
		if r.Status != 200 || r.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(r.Body), tc.has) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tc.target, r.Status, r.Header.Get("Content-Type"), tc.has, strings.Contains(string(r.Body), tc.has))
		}
		if !strings.HasPrefix(r.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no CSP", tc.target)
		}
	}
}

// Mounted below a path, the page redirects to that path with a slash, so
// that its relative links work.
func TestMounted(t *testing.T) {
	tp := newTestPage(t, Options{})
	root := &web.BaseResource{}
	root.PutChild("twist", tp.Resource())
	tp.site.Resource = root
	r := tp.get(t, "/twist")
	if r.Status != 302 || !strings.HasSuffix(r.Header.Get("Location"), "/twist/") {
		t.Errorf("GET /twist: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	if r := tp.get(t, "/twist/status.json"); r.Status != 200 {
		t.Errorf("GET /twist/status.json: %d", r.Status)
	}
}

// /metrics is promhttp's handler on the thread pool, so it needs a real
// loop: this test serves the page on a loopback port.
func TestMetrics(t *testing.T) {
	clk := task.NewClock()
	src := newFakeSource(clk)
	src.calls.Add(3)
	p, err := New(src, Options{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	addr := webtest.Serve(t, web.NewSite(p.Resource()))
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %s %v\n%s", resp.Status, resp.Header, b)
	}
	if !strings.Contains(string(b), "\ntwist_test_calls_total 3\n") {
		t.Errorf("metrics lack the counter:\n%s", b)
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		":8080":          "127.0.0.1:8080",
		"8080":           "127.0.0.1:8080",
		"0.0.0.0:8080":   "0.0.0.0:8080",
		"[::1]:0":        "[::1]:0",
		"localhost:9":    "localhost:9",
		"127.0.0.1:9100": "127.0.0.1:9100",
	} {
		if got := ListenAddr(in); got != want {
			t.Errorf("ListenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// stream opens a live-update stream over HTTP/1.0, whose body is the raw
// bytes after the head (no chunks).
func (tp *testPage) stream(t *testing.T) *webtest.Conn {
	t.Helper()
	c := webtest.Connect(tp.site)
	c.Send("GET /events HTTP/1.0\r\n\r\n")
	return c
}

// body returns what the stream sent after its head.
func body(t *testing.T, c *webtest.Conn) string {
	t.Helper()
	raw := string(c.T.Value())
	i := strings.Index(raw, "\r\n\r\n")
	if i < 0 {
		t.Fatalf("no head in %q", raw)
	}
	return raw[i+4:]
}

// events splits a stream's body into its events' names and data.
func events(t *testing.T, s string) (names, data []string) {
	t.Helper()
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with an event's end: %q", s)
	}
	for _, block := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		lines := strings.Split(block, "\n")
		switch {
		case len(lines) == 1 && strings.HasPrefix(lines[0], "retry: "):
		case len(lines) == 2 && strings.HasPrefix(lines[0], "event: ") && strings.HasPrefix(lines[1], "data: "):
			d := strings.TrimPrefix(lines[1], "data: ")
			if !json.Valid([]byte(d)) {
				t.Errorf("event data is not JSON: %q", d)
			}
			names = append(names, strings.TrimPrefix(lines[0], "event: "))
			data = append(data, d)
		default:
			t.Fatalf("bad event block %q", block)
		}
	}
	return names, data
}

func TestEventsFraming(t *testing.T) {
	el := NewErrorLog(slog.DiscardHandler, 4, slog.LevelError)
	tp := newTestPage(t, Options{Errors: el})
	tp.clk.Advance(time.Second)
	c := tp.stream(t)
	head := string(c.T.Value())
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "Content-Type: text/event-stream\r\n") {
		t.Fatalf("head %q", head)
	}
	names, data := events(t, body(t, c))
	if strings.Join(names, " ") != "history errors" || !strings.HasPrefix(data[0], "[{") || data[1] != "[]" {
		t.Fatalf("first events %v %v", names, data)
	}
	var hist []Sample
	if err := json.Unmarshal([]byte(data[0]), &hist); err != nil || len(hist) != 2 {
		t.Fatalf("history of %d samples (%v), want 2", len(hist), err)
	}
	tp.clk.Advance(time.Second)
	slog.New(el).Error("boom")
	tp.clk.Advance(time.Second)
	tp.clk.Advance(time.Second)
	names, data = events(t, body(t, c))
	if got := strings.Join(names, " "); got != "history errors sample sample errors sample" {
		t.Fatalf("events %q", got)
	}
	if !strings.Contains(data[4], `"message":"boom"`) {
		t.Errorf("errors event %s", data[4])
	}
	if len(tp.clients) != 1 {
		t.Fatalf("%d clients", len(tp.clients))
	}
	c.Lose()
	if len(tp.clients) != 0 {
		t.Errorf("%d clients after the connection went", len(tp.clients))
	}
}

func TestEventsClientCap(t *testing.T) {
	tp := newTestPage(t, Options{MaxClients: 2})
	a, _ := tp.stream(t), tp.stream(t)
	third := webtest.Connect(tp.site)
	third.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := third.Must(t); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third client: %d %v", r.Status, r.Header)
	}
	a.Lose()
	fourth := tp.stream(t)
	if !strings.HasPrefix(string(fourth.T.Value()), "HTTP/1.1 200 ") {
		t.Fatalf("a client after one left: %q", fourth.T.Value())
	}
}

// A client that does not read pauses its stream (the transport's output is
// above the high-water mark): samples are skipped, not queued, and after
// StallTimeout it is dropped. One that catches up in time gets samples again.
func TestEventsSlowReaderDropped(t *testing.T) {
	tp := newTestPage(t, Options{Interval: time.Second, StallTimeout: 5 * time.Second})
	slow, fine := tp.stream(t), tp.stream(t)
	pause := func(c *webtest.Conn) internet.PushProducer {
		p := c.T.Producer().(internet.PushProducer)
		p.PauseProducing()
		return p
	}
	pause(slow)
	resumed := pause(fine)
	slowLen, fineLen := len(slow.T.Value()), len(fine.T.Value())
	tp.clk.Advance(time.Second)
	resumed.ResumeProducing()
	for range 3 {
		tp.clk.Advance(time.Second)
	}
	if len(slow.T.Value()) != slowLen {
		t.Errorf("a paused stream was written to")
	}
	if names, _ := events(t, body(t, fine)); len(names) != 2+3 {
		t.Errorf("resumed stream got %v, want history, errors and 3 samples", names)
	}
	if slow.T.Aborted() || len(tp.clients) != 2 {
		t.Fatalf("dropped before StallTimeout")
	}
	tp.clk.Advance(time.Second)
	if !slow.T.Aborted() || len(tp.clients) != 1 {
		t.Fatalf("slow client not dropped after StallTimeout: aborted %v, %d clients", slow.T.Aborted(), len(tp.clients))
	}
	if fine.T.Aborted() || len(fine.T.Value()) == fineLen {
		t.Errorf("the reading client suffered")
	}
}

func TestStopEndsStreams(t *testing.T) {
	tp := newTestPage(t, Options{})
	c := tp.stream(t)
	tp.Stop()
	if !c.T.Disconnecting() || len(tp.clients) != 0 || len(tp.clk.DelayedCalls()) != 0 {
		t.Errorf("after Stop: closing %v, %d clients, %d timers", c.T.Disconnecting(), len(tp.clients), len(tp.clk.DelayedCalls()))
	}
	if r := tp.get(t, "/events"); r.Status != 500 {
		t.Errorf("events of a stopped page: %d, want 500", r.Status)
	}
	// A snapshot that comes after Stop is dropped.
	n := len(tp.history)
	var late func(metrics.Snapshot)
	tp.start(tp.clk, func(done func(metrics.Snapshot)) { late = done })
	tp.Stop()
	late(tp.src.Snapshot())
	if len(tp.history) != n {
		t.Error("a snapshot taken before Stop was kept after it")
	}
}
