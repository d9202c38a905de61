package status

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/reactor"
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
// takes the same snapshots and registers its Prometheus collectors.
type Source interface {
	// Snapshot returns the counters now. The page calls it on a goroutine
	// of its own, never on a loop: a Registry waits for each loop to hand
	// over its counters.
	Snapshot() metrics.Snapshot
	// Register registers the collectors /metrics serves.
	Register(prometheus.Registerer) error
}

// A Sample is a snapshot of the registry with the rates since the one
// before: the document of /status.json and of each live update.
type Sample struct {
	metrics.Snapshot
	// Rates are per second over the interval since the previous sample.
	Rates Rates `json:"rates"`
	// Title names the program.
	Title string `json:"title"`
	// ErrorsTotal counts the error records logged since the start.
	ErrorsTotal int64 `json:"errors_total"`
}

// A Page serves a registry's status: a live page, /status.json,
// /events (server-sent events) and /metrics (Prometheus). It samples the
// registry every Options.Interval on the loop given to Start. A Page, its
// samples and its clients live on that loop: serve its Resource from it.
type Page struct {
	src     Source
	opts    Options
	metrics web.Resource
	token   [sha256.Size]byte

	clk     clock.Clock
	take    func(done func(metrics.Snapshot))
	timer   clock.DelayedCall
	taking  bool     // a snapshot is being taken
	gen     int      // counts Start and Stop, to drop a snapshot that comes late
	history []Sample // oldest first, at most opts.History
	clients map[*client]struct{}
	errSent int64 // ErrorsTotal when the errors were last sent
}

// DefaultMaxScrapes bounds the /metrics requests answered at once; more
// are answered 503.
const DefaultMaxScrapes = 4

// New returns a Page showing src. It fails if src's collectors do not
// register.
func New(src Source, opts Options) (*Page, error) {
	p := &Page{src: src, opts: opts.withDefaults(), clients: make(map[*client]struct{})}
	p.token = sha256.Sum256([]byte(p.opts.Token))
	pr := prometheus.NewRegistry()
	if err := src.Register(pr); err != nil {
		return nil, err
	}
	// Gathering takes a snapshot, which waits for the loops: it runs on
	// the thread pool, as promhttp's handler through HandlerResource.
	p.metrics = web.NewHandlerResource(promhttp.HandlerFor(pr, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: DefaultMaxScrapes,
	}))
	return p, nil
}

// Start takes a first sample and goes on every Interval on loop, the loop
// the page is served from. Each snapshot is taken on a goroutine and
// handed back to the loop.
func (p *Page) Start(loop *reactor.Reactor) {
	p.start(loop, func(done func(metrics.Snapshot)) {
		go func() {
			s := p.src.Snapshot()
			loop.CallFromThread(func() { done(s) })
		}()
	})
}

// start is Start on any clock: take gets a snapshot and calls done with it
// on that clock's loop (tests take it at once).
func (p *Page) start(clk clock.Clock, take func(done func(metrics.Snapshot))) {
	p.clk, p.take = clk, take
	p.gen++
	p.tick()
}

// Stop stops sampling and ends every live-update stream.
func (p *Page) Stop() {
	if p.timer != nil {
		_ = p.timer.Cancel()
		p.timer = nil
	}
	p.clk, p.taking = nil, false
	p.gen++
	for c := range p.clients {
		p.remove(c)
		c.req.UnregisterProducer()
		c.req.Finish()
	}
}

// tick asks for a snapshot, unless the last one is still being taken (a
// loop stuck in a callback holds it up to the registry's wait).
func (p *Page) tick() {
	p.timer = p.clk.CallLater(p.opts.Interval, p.tick)
	if p.taking {
		return
	}
	p.taking = true
	gen := p.gen
	p.take(func(s metrics.Snapshot) {
		if gen == p.gen {
			p.taking = false
			p.add(s)
		}
	})
}

// add keeps a snapshot as a sample and sends it to the live clients.
func (p *Page) add(snap metrics.Snapshot) {
	s := Sample{Snapshot: snap, Title: p.opts.Title}
	if p.opts.Errors != nil {
		s.ErrorsTotal = p.opts.Errors.Total()
	}
	if n := len(p.history); n > 0 {
		s.Rates = rates(&p.history[n-1].Snapshot, &s.Snapshot)
	} else {
		s.Rates = rates(nil, &s.Snapshot)
	}
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
		return unauthorized(req), nil
	}
	switch name {
	case "":
		return asset(req, "index.html")
	case "status.json":
		return p.renderJSON(req)
	case "events":
		return p.renderEvents(req)
	case "metrics":
		return p.metrics.Render(req)
	}
	return web.NoResource("No such status resource.").Render(req)
}

// Protect returns render behind the page's token (Options.Token): a
// request without it gets the page's 401 answer, render is not called. A
// program that serves pages of its own beside the status page, such as
// bgpprobe's sessions, guards them with the same token.
func (p *Page) Protect(render web.RenderFunc) web.RenderFunc {
	return func(req *web.Request) ([]byte, error) {
		if !p.authorized(req) {
			return unauthorized(req), nil
		}
		return render(req)
	}
}

// unauthorized makes req a 401 answer, and returns its body.
func unauthorized(req *web.Request) []byte {
	req.SetResponseCode(http.StatusUnauthorized)
	req.SetHeader("WWW-Authenticate", `Bearer realm="twist status"`)
	req.SetHeader("Content-Type", "text/plain; charset=utf-8")
	return []byte("401 Unauthorized: a token is needed (Authorization: Bearer TOKEN, or ?token=TOKEN)\n")
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
		req.SetResponseCode(http.StatusServiceUnavailable)
		req.SetHeader("Retry-After", "1")
		req.SetHeader("Content-Type", "text/plain; charset=utf-8")
		return []byte("503 Service Unavailable: no sample yet\n"), nil
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
