package status

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/web"
)

// Defaults of Options.
const (
	// DefaultMaxClients bounds the live-update clients at once.
	DefaultMaxClients = 16
	// DefaultInterval is the time between two samples.
	DefaultInterval = time.Second
	// DefaultHistory is the number of samples kept for the charts: two
	// minutes at DefaultInterval.
	DefaultHistory = 120
	// DefaultStallTimeout is how long a live-update client may go without
	// taking what it was sent before it is dropped.
	DefaultStallTimeout = 10 * time.Second
)

// Options configure a Page. A zero field takes its default.
type Options struct {
	// Token, if not empty, is asked of every request for data (the page,
	// /status.json, /events, /metrics): "Authorization: Bearer TOKEN", or
	// "?token=TOKEN" for a browser. Others get 401. The script and the
	// style sheet, which hold no data, are served to anyone.
	Token string
	// MaxClients bounds the live-update (server-sent events) streams open
	// at once; one more is answered 503. Default DefaultMaxClients.
	MaxClients int
	// Interval is the time between two samples, each one update of the
	// live page. Default DefaultInterval.
	Interval time.Duration
	// History is the number of samples kept, which a page that opens gets
	// for its charts. Default DefaultHistory.
	History int
	// StallTimeout drops a live-update client whose connection has held
	// its output above the high-water mark (the client does not read) for
	// this long. Samples due meanwhile are skipped, not queued, so a slow
	// client costs at most the transport's high-water mark of memory.
	// Default DefaultStallTimeout.
	StallTimeout time.Duration
	// Errors, if not nil, are the recent errors the page shows.
	Errors *ErrorLog
	// Title names the program on the page.
	Title string
}

func (o Options) withDefaults() Options {
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.History <= 0 {
		o.History = DefaultHistory
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.Title == "" {
		o.Title = "Twist"
	}
	return o
}

// A Source is what a Page shows: a *metrics.Registry, or anything that
// takes the same snapshots and has a Prometheus collector.
type Source interface {
	// Snapshot returns the counters now; it is called on the page's loop.
	Snapshot() Snapshot
	// Collector returns the collector /metrics serves.
	Collector() prometheus.Collector
}

// A Sample is a snapshot of the registry with the rates since the one
// before: the document of /status.json and of each live update.
type Sample struct {
	Snapshot
	// Rates are per second over the interval since the previous sample.
	Rates Rates `json:"rates"`
	// Title names the program.
	Title string `json:"title"`
	// ErrorsTotal counts the error records logged since the start.
	ErrorsTotal int64 `json:"errors_total"`
}

// A Page serves a registry's status: a live page, /status.json,
// /events (server-sent events) and /metrics (Prometheus). It samples the
// registry every Options.Interval on the clock given to Start. A Page, its
// samples and its clients live on one loop: serve its Resource from the
// loop it was started on.
type Page struct {
	src    Source
	opts   Options
	gather prometheus.Gatherer
	token  [sha256.Size]byte

	clk     clock.Clock
	timer   clock.DelayedCall
	history []Sample // oldest first, at most opts.History
	clients map[*client]struct{}
	errSent int64 // ErrorsTotal when the errors were last sent
}

// New returns a Page showing src.
func New(src Source, opts Options) *Page {
	p := &Page{src: src, opts: opts.withDefaults(), clients: make(map[*client]struct{})}
	p.token = sha256.Sum256([]byte(p.opts.Token))
	pr := prometheus.NewRegistry()
	pr.MustRegister(src.Collector())
	p.gather = pr
	return p
}

// Start takes a first sample and goes on every Interval on clk, the loop
// the page is served from (a task.Clock in tests).
func (p *Page) Start(clk clock.Clock) {
	p.clk = clk
	p.tick()
}

// Stop stops sampling and ends every live-update stream.
func (p *Page) Stop() {
	if p.timer != nil {
		_ = p.timer.Cancel()
		p.timer = nil
	}
	p.clk = nil
	for c := range p.clients {
		p.remove(c)
		c.req.UnregisterProducer()
		c.req.Finish()
	}
}

// tick takes a sample, keeps it and sends it to the live clients.
func (p *Page) tick() {
	s := p.sample()
	if len(p.history) == p.opts.History {
		copy(p.history, p.history[1:])
		p.history = p.history[:len(p.history)-1]
	}
	p.history = append(p.history, s)
	if len(p.clients) > 0 {
		msgs := [][]byte{event("sample", s)}
		if s.ErrorsTotal != p.errSent {
			msgs = append(msgs, event("errors", p.recentErrors()))
		}
		now := p.clk.Now()
		for c := range p.clients {
			c.send(now, msgs...)
		}
	}
	p.errSent = s.ErrorsTotal
	p.timer = p.clk.CallLater(p.opts.Interval, p.tick)
}

// sample takes a snapshot and its rates against the last sample.
func (p *Page) sample() Sample {
	s := Sample{Snapshot: p.src.Snapshot(), Title: p.opts.Title}
	if p.opts.Errors != nil {
		s.ErrorsTotal = p.opts.Errors.Total()
	}
	if n := len(p.history); n > 0 {
		s.Rates = rates(&p.history[n-1].Snapshot, &s.Snapshot)
	}
	return s
}

func (p *Page) recentErrors() []ErrorRecord {
	if p.opts.Errors == nil {
		return []ErrorRecord{}
	}
	return p.opts.Errors.Recent()
}

// Resource returns the page's tree, a leaf to mount anywhere: the page
// at its root ("/" below where it is mounted), app.js, style.css,
// status.json, events and metrics.
func (p *Page) Resource() web.Resource { return &resource{p: p} }

type resource struct {
	web.BaseResource
	p *Page
}

func (r *resource) IsLeaf() bool { return true }

//go:embed assets
var assets embed.FS

// RenderGET serves the page's parts; HEAD comes here too.
func (r *resource) RenderGET(req *web.Request) ([]byte, error) {
	p := r.p
	if len(req.Postpath) == 0 {
		// Mounted at /x and asked for /x: the page's links are relative
		// to /x/.
		req.Redirect(req.PrePathURL() + "/")
		return nil, nil
	}
	name := strings.Join(req.Postpath, "/")
	switch name {
	case "app.js", "style.css":
		return asset(req, name)
	}
	if !p.authorized(req) {
		req.SetResponseCode(http.StatusUnauthorized)
		req.SetHeader("WWW-Authenticate", `Bearer realm="twist status"`)
		req.SetHeader("Content-Type", "text/plain; charset=utf-8")
		return []byte("401 Unauthorized: a token is needed (Authorization: Bearer TOKEN, or ?token=TOKEN)\n"), nil
	}
	switch name {
	case "":
		return asset(req, "index.html")
	case "status.json":
		return p.renderJSON(req)
	case "events":
		return p.renderEvents(req)
	case "metrics":
		return p.renderMetrics(req)
	}
	return web.NoResource("No such status resource.").Render(req)
}

// authorized reports whether req carries the token, compared in constant
// time (over digests, so that the length does not show either).
func (p *Page) authorized(req *web.Request) bool {
	if p.opts.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(req.GetHeader("Authorization"), "Bearer ")
	if !ok {
		got = req.Args().Get("token")
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], p.token[:]) == 1
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

func asset(req *web.Request, name string) ([]byte, error) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return nil, err
	}
	req.SetHeader("Content-Type", contentTypes[path.Ext(name)])
	req.SetHeader("Cache-Control", "no-cache")
	req.SetHeader("X-Content-Type-Options", "nosniff")
	// Everything the page uses is its own: no inline script, no CDN.
	req.SetHeader("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	return b, nil
}

// Document is /status.json: the latest sample and the recent errors.
type Document struct {
	Sample
	Errors []ErrorRecord `json:"errors"`
}

func (p *Page) renderJSON(req *web.Request) ([]byte, error) {
	if len(p.history) == 0 {
		return nil, errNotStarted
	}
	b, err := json.Marshal(Document{Sample: p.history[len(p.history)-1], Errors: p.recentErrors()})
	if err != nil {
		return nil, err
	}
	req.SetHeader("Content-Type", "application/json")
	req.SetHeader("Cache-Control", "no-store")
	return append(b, '\n'), nil
}

var errNotStarted = errors.New("status: the page was not started")

func (p *Page) renderMetrics(req *web.Request) ([]byte, error) {
	mfs, err := p.gather.Gather()
	if err != nil {
		// A collector's error spoils one family; serve the others, as
		// promhttp does with ContinueOnError.
		slog.Warn("status: gathering metrics", "err", err)
	}
	format := expfmt.Negotiate(http.Header{"Accept": req.RequestHeaders.Values("Accept")})
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	req.SetHeader("Content-Type", string(format))
	req.SetHeader("Cache-Control", "no-store")
	return buf.Bytes(), nil
}
