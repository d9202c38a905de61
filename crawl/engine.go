package crawl

import (
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web/client"
)

// ErrTooManyRedirects is the failure of a request redirected more than
// Settings.MaxRedirects times.
var ErrTooManyRedirects = errors.New("crawl: too many redirects")

// An HTTPError is the failure of a request answered with a status of 400
// or more (Scrapy's HttpError); it holds the response.
type HTTPError struct {
	Response *Response
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("crawl: HTTP status %d", e.Response.Status)
}

var errNotHTML = errors.New("crawl: response is not HTML")

// An Engine runs one spider's crawl on a loop (Scrapy's ExecutionEngine):
// it pulls start requests lazily, keeps at most Settings.Concurrency
// requests in progress and Settings.PerDomain downloads in flight per
// host, feeds responses to callbacks and schedules what they return.
// Its methods are called on the loop.
type Engine struct {
	loop   *reactor.Reactor
	spider Spider
	set    Settings
	clk    clock.Clock
	sched  *Scheduler
	agent  *client.Agent
	pool   *client.Pool
	stats  *Stats
	done   *deferred.Deferred

	nextStart  func() (*Request, bool)
	stopStarts func()
	startsDone bool

	job        *jobStore // with Settings.JobDir
	jobErr     error     // opening the job directory failed
	flushing   bool      // a commit of the job's batch is scheduled
	callbacks  map[string]Callback
	errbacks   map[string]Errback
	inProgress int // requests taken from the scheduler and not finished
	issued     int // requests taken from the scheduler, for MaxPages
	slots      map[string]*slot
	robots     map[string]*robotsState

	running, stopping, closed bool
	inNext, nextAgain         bool
}

// A slot is one host's downloads (Scrapy's downloader Slot).
type slot struct {
	active int
	delay  time.Duration // between starts: DownloadDelay, or AutoThrottle's
	queue  []*Request
	last   time.Time
	timer  clock.DelayedCall
}

// robotsState is one origin's robots.txt: loading (rules nil, waiting
// requests queued) or loaded.
type robotsState struct {
	loaded  bool
	rules   *Robots
	waiting []*Request
}

// NewEngine returns an engine for spider on loop.
func NewEngine(loop *reactor.Reactor, spider Spider, set Settings) *Engine {
	set = set.withDefaults()
	clk := set.Clock
	if clk == nil {
		clk = loop
	}
	pool := client.NewPool()
	pool.MaxPerHost = set.PerDomain
	agent := client.NewAgent(loop)
	agent.Pool = pool
	agent.UserAgent = set.UserAgent
	agent.Clock = set.Clock
	agent.Limits = client.Limits{
		MaxBodySize:    set.MaxResponseSize,
		ConnectTimeout: set.DownloadTimeout,
		HeaderTimeout:  set.DownloadTimeout,
		BodyTimeout:    set.DownloadTimeout,
	}
	e := &Engine{
		loop: loop, spider: spider, set: set, clk: clk,
		sched: NewScheduler(), agent: agent, pool: pool, stats: newStats(),
		done:   deferred.New(),
		slots:  map[string]*slot{},
		robots: map[string]*robotsState{},
	}
	if sc, ok := spider.(SpiderCallbacks); ok {
		e.callbacks, e.errbacks = sc.Callbacks(), sc.Errbacks()
	}
	if set.JobDir != "" {
		e.job, e.jobErr = openJob(set.JobDir)
		if e.jobErr == nil {
			e.job.fail = e.jobFailed
			e.sched = newJobScheduler(e.job, e.commit)
		}
	}
	return e
}

// Stats returns the crawl's stats, complete once Start's Deferred fires.
func (e *Engine) Stats() *Stats { return e.stats }

// Start starts the crawl and returns a Deferred that fires with the *Stats
// when it is over: nothing is in progress, the queue is empty and the
// start requests are exhausted (the seed's _closewait), or MaxPages is
// reached, or Stop was called, and what was in progress has finished.
// Call it once.
func (e *Engine) Start() *deferred.Deferred {
	if e.running {
		panic("crawl: Engine.Start called twice")
	}
	e.running = true
	e.stats.Start = e.clk.Now()
	if e.jobErr != nil {
		e.closed = true
		e.done.Errback(e.jobErr)
		return e.done
	}
	if e.job != nil {
		st, err := e.job.stats()
		if err != nil {
			e.closed = true
			_ = e.job.close()
			e.done.Errback(fmt.Errorf("crawl: job directory: %w", err))
			return e.done
		}
		if st != nil {
			// Start moves back by the earlier runs' time, so that
			// Finish-Start is the crawl's running time.
			st.Start = e.stats.Start.Add(-st.Finish.Sub(st.Start))
			st.Finish = time.Time{}
			e.stats = st
		}
	}
	e.nextStart, e.stopStarts = iter.Pull(e.spider.StartRequests())
	e.next()
	return e.done
}

// Stop stops taking new requests; the crawl closes when the ones in
// progress have finished (Scrapy's graceful shutdown).
func (e *Engine) Stop() {
	if !e.running || e.closed {
		return
	}
	e.stopping = true
	e.next()
}

// next takes requests while there is room, then closes if idle.
func (e *Engine) next() {
	if e.inNext {
		e.nextAgain = true
		return
	}
	e.inNext = true
	defer func() { e.inNext = false }()
	for again := true; again; {
		e.nextAgain = false
		e.fill()
		again = e.nextAgain
	}
	if e.closed || e.inProgress > 0 {
		return
	}
	if e.stopping || e.pagesDone() || (e.startsDone && e.sched.Len() == 0) {
		e.close()
	}
}

func (e *Engine) pagesDone() bool { return e.set.MaxPages > 0 && e.issued >= e.set.MaxPages }

// fill moves requests from the scheduler, then from the start requests,
// into progress while there is room.
func (e *Engine) fill() {
	for !e.closed && !e.stopping && !e.pagesDone() && e.inProgress < e.set.Concurrency {
		if r := e.sched.Next(); r != nil {
			if e.job != nil && e.job.dirty() {
				// What finished is on disk before another download
				// starts: a kill re-fetches only what is in progress.
				_ = e.commit()
			}
			e.issued++
			e.inProgress++
			e.process(r)
			continue
		}
		if e.startsDone {
			return
		}
		r, ok := e.nextStart()
		if !ok {
			e.startsDone = true
			e.stopStarts()
			return
		}
		e.schedule(r)
	}
}

// schedule filters r and queues it.
func (e *Engine) schedule(r *Request) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.stats.Filtered["invalid"]++
		return
	}
	if e.set.MaxDepth > 0 && r.Depth > e.set.MaxDepth {
		e.stats.Filtered["depth"]++
		return
	}
	if !r.DontFilter && !e.allowedHost(u.Hostname()) {
		e.stats.Filtered["offsite"]++
		return
	}
	ok, err := e.sched.add(r)
	if err != nil {
		e.stats.Errors["persist"]++
		e.set.Logger.Error("crawl: request not queued", "spider", e.spider.Name(), "url", r.URL, "err", err)
		return
	}
	if !ok {
		e.stats.Filtered["duplicate"]++
		return
	}
	e.next()
}

func (e *Engine) allowedHost(host string) bool {
	if len(e.set.AllowedDomains) == 0 {
		return true
	}
	host = strings.ToLower(host)
	for _, d := range e.set.AllowedDomains {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// process checks robots.txt, then downloads r.
func (e *Engine) process(r *Request) {
	if e.set.IgnoreRobots {
		e.download(r)
		return
	}
	u, _ := url.Parse(r.URL) // schedule parsed it
	origin := u.Scheme + "://" + u.Host
	st := e.robots[origin]
	if st == nil {
		st = &robotsState{}
		e.robots[origin] = st
		e.fetchRobots(origin, st)
	}
	if !st.loaded {
		st.waiting = append(st.waiting, r)
		return
	}
	e.checkRobots(st, r)
}

func (e *Engine) checkRobots(st *robotsState, r *Request) {
	u, _ := url.Parse(r.URL)
	if !st.rules.Allowed(u.RequestURI()) {
		e.stats.Filtered["robots"]++
		e.finish(r)
		return
	}
	e.download(r)
}

// fetchRobots loads origin's robots.txt through the host's slot; a
// missing or failed one allows everything (as Scrapy's RobotsTxtMiddleware
// does; RFC 9309 would disallow all on a 5xx).
func (e *Engine) fetchRobots(origin string, st *robotsState) {
	r := &Request{URL: origin + "/robots.txt"}
	e.slotFor(r).enqueue(e, r, func(resp *Response, err error) {
		st.loaded = true
		st.rules = &Robots{}
		if err == nil && resp.Status == 200 {
			st.rules = ParseRobots(resp.Body, robotsAgent(e.set.UserAgent))
		}
		waiting := st.waiting
		st.waiting = nil
		for _, w := range waiting {
			e.checkRobots(st, w)
		}
	})
}

// robotsAgent is the product token of a User-Agent: "twist-crawl" of
// "twist-crawl/1.0 (+url)".
func robotsAgent(ua string) string {
	ua, _, _ = strings.Cut(ua, " ")
	ua, _, _ = strings.Cut(ua, "/")
	return ua
}

func (e *Engine) slotFor(r *Request) *slot {
	u, _ := url.Parse(r.URL)
	s := e.slots[u.Host]
	if s == nil {
		s = &slot{delay: e.set.DownloadDelay}
		e.slots[u.Host] = s
	}
	return s
}

// download fetches r through its host's slot and handles the outcome.
func (e *Engine) download(r *Request) {
	e.slotFor(r).enqueue(e, r, func(resp *Response, err error) { e.downloaded(r, resp, err) })
}

// enqueue queues r on the slot; then is called with its outcome.
func (s *slot) enqueue(e *Engine, r *Request, then func(*Response, error)) {
	r.then = then
	s.queue = append(s.queue, r)
	s.pump(e)
}

// pump starts queued downloads while the slot has room and its delay
// allows.
func (s *slot) pump(e *Engine) {
	for s.active < e.set.PerDomain && len(s.queue) > 0 {
		if d := s.delay; d > 0 {
			now := e.clk.Now()
			if wait := s.last.Add(d).Sub(now); !s.last.IsZero() && wait > 0 {
				if s.timer == nil {
					s.timer = e.clk.CallLater(wait, func() { s.timer = nil; s.pump(e) })
				}
				return
			}
			s.last = now
		}
		r := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.active++
		then := r.then
		r.then = nil
		started := e.clk.Now()
		e.fetch(r).AddCallbacks(func(v any) (any, error) {
			s.active--
			s.throttle(e, e.clk.Now().Sub(started), v.(*Response).Status)
			then(v.(*Response), nil)
			s.pump(e)
			return nil, nil
		}, func(f *deferred.Failure) (any, error) {
			s.active--
			then(nil, f.Value())
			s.pump(e)
			return nil, nil
		})
	}
}

// throttle moves the slot's delay halfway to latency/ThrottleTarget
// (Scrapy's AutoThrottle), within DownloadDelay and
// DefaultMaxThrottleDelay; an error status cannot lower it.
func (s *slot) throttle(e *Engine, latency time.Duration, status int) {
	if !e.set.AutoThrottle {
		return
	}
	target := time.Duration(float64(latency) / e.set.ThrottleTarget)
	d := (s.delay + target) / 2
	if status >= 400 && d < s.delay {
		return
	}
	s.delay = min(max(d, e.set.DownloadDelay), DefaultMaxThrottleDelay)
}

// fetch sends r and gathers its response.
func (e *Engine) fetch(r *Request) *deferred.Deferred {
	e.stats.Requests++
	return e.agent.Request(r.method(), r.URL, r.Headers, r.Body).AddCallback(func(v any) (any, error) {
		cr := v.(*client.Response)
		if cr.Length > e.set.MaxResponseSize {
			// Known too big from its head: no need to read any of it
			// (Scrapy checks the expected size the same way).
			cr.Abort()
			return nil, client.ErrBodyTooLarge
		}
		return client.ReadBody(cr).AddCallback(func(b any) (any, error) {
			body := b.([]byte)
			e.stats.Responses++
			e.stats.ByStatus[cr.Code]++
			e.stats.Bytes += int64(len(body))
			return &Response{URL: r.URL, Status: cr.Code, Headers: cr.Headers, Body: body, Request: r}, nil
		}), nil
	})
}

// retryStatus are the statuses worth a retry (Scrapy's RETRY_HTTP_CODES).
func retryStatus(code int) bool {
	switch code {
	case 500, 502, 503, 504, 522, 524, 408, 429:
		return true
	}
	return false
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// downloaded handles a download's outcome: retry, redirect, errback or
// callback.
func (e *Engine) downloaded(r *Request, resp *Response, err error) {
	if err != nil {
		if retriable(err) && e.retry(r) {
			return
		}
		e.failed(r, err)
		return
	}
	if retryStatus(resp.Status) && e.retry(r) {
		return
	}
	if isRedirect(resp.Status) && e.set.MaxRedirects >= 0 {
		if loc := resp.Headers.Get("Location"); loc != "" {
			e.redirect(r, resp, loc)
			return
		}
	}
	if resp.Status >= 400 && !e.set.AllowErrorStatus {
		e.failed(r, &HTTPError{resp})
		return
	}
	cb := r.Callback
	if cb == nil && r.CallbackName != "" {
		if cb = e.callbacks[r.CallbackName]; cb == nil {
			e.failed(r, fmt.Errorf("crawl: spider %s has no callback named %q", e.spider.Name(), r.CallbackName))
			return
		}
	}
	if cb == nil {
		cb = e.spider.Parse
	}
	e.output(r, deferred.Maybe(func() (any, error) { return cb(resp) }), "callback")
}

func retriable(err error) bool {
	return !errors.Is(err, client.ErrBodyTooLarge) && !errors.Is(err, client.ErrUnsupportedScheme)
}

// retry schedules r again after the back-off, or reports false when its
// retries are used up. The request stays in progress meanwhile, so that
// the crawl does not close under it.
func (e *Engine) retry(r *Request) bool {
	if r.retries >= e.set.MaxRetries {
		return false
	}
	n := r.follow(r.URL)
	n.retries++
	n.Priority--
	e.stats.Retries++
	e.clk.CallLater(e.set.RetryBackoff<<(n.retries-1), func() { e.download(n) })
	return true
}

// redirect schedules the request for loc: through the scheduler, so a
// page already seen is not fetched again and a loop ends.
func (e *Engine) redirect(r *Request, resp *Response, loc string) {
	if r.redirects >= e.set.MaxRedirects {
		e.failed(r, ErrTooManyRedirects)
		return
	}
	base, _ := url.Parse(r.URL)
	u, err := base.Parse(loc)
	if err != nil {
		e.failed(r, &HTTPError{resp})
		return
	}
	n := r.follow(u.String())
	n.redirects++
	n.retries = 0
	if resp.Status == 303 || ((resp.Status == 301 || resp.Status == 302) && n.method() == "POST") {
		n.Method, n.Body = "GET", nil
	}
	e.stats.Redirects++
	e.schedule(n)
	e.finish(r)
}

// failed hands err to r's errback, or counts and logs it.
func (e *Engine) failed(r *Request, err error) {
	e.stats.Errors[errorKind(err)]++
	eb := r.Errback
	if eb == nil && r.ErrbackName != "" {
		eb = e.errbacks[r.ErrbackName]
	}
	if eb == nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			e.set.Logger.Info("crawl: request failed", "spider", e.spider.Name(), "url", r.URL, "err", err)
		}
		e.finish(r)
		return
	}
	e.output(r, deferred.Maybe(func() (any, error) { return eb(r, err) }), "callback")
}

func errorKind(err error) string {
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		return "http_status"
	case errors.Is(err, client.ErrTimeout):
		return "timeout"
	case errors.Is(err, client.ErrBodyTooLarge):
		return "too_large"
	case errors.Is(err, ErrTooManyRedirects):
		return "redirects"
	}
	return "download"
}

// output waits for the result of r's callback, schedules its requests,
// sends its items through the pipelines, and finishes r when all that is
// done.
func (e *Engine) output(r *Request, d *deferred.Deferred, kind string) {
	d.AddCallback(func(v any) (any, error) {
		return e.handle(r.Depth, v), nil
	}).AddErrback(func(f *deferred.Failure) (any, error) {
		e.stats.Errors[kind]++
		e.set.Logger.Error("crawl: callback failed", "spider", e.spider.Name(), "err", f.Value())
		return nil, nil
	}).AddBoth(func(any) (any, error) {
		e.finish(r)
		return nil, nil
	})
}

// handle takes one value a callback produced; it returns a Deferred when
// items are still in the pipelines, or nil.
func (e *Engine) handle(depth int, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case *Request:
		if v != nil {
			v.Depth = depth + 1
			e.schedule(v)
		}
		return nil
	case *deferred.Deferred:
		return v.AddCallback(func(x any) (any, error) { return e.handle(depth, x), nil })
	case []*Request:
		for _, r := range v {
			e.handle(depth, r)
		}
		return nil
	case []any:
		return e.handleSeq(depth, func(yield func(any) bool) {
			for _, x := range v {
				if !yield(x) {
					return
				}
			}
		})
	case iter.Seq[any]:
		return e.handleSeq(depth, v)
	}
	return e.item(v)
}

// handleSeq handles each value of seq, and returns a Deferred that fires
// when the pending ones are done, or nil if none is.
func (e *Engine) handleSeq(depth int, seq iter.Seq[any]) any {
	var pending []*deferred.Deferred
	for x := range seq {
		if d, ok := e.handle(depth, x).(*deferred.Deferred); ok {
			pending = append(pending, d)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return deferred.List(pending)
}

// item sends v through the pipelines.
func (e *Engine) item(v any) any {
	d := deferred.Succeed(v)
	for _, p := range e.set.Pipelines {
		d.AddCallback(func(x any) (any, error) { return p.ProcessItem(x) })
	}
	done := false
	d.AddCallbacks(func(any) (any, error) {
		e.stats.Items++
		done = true
		return nil, nil
	}, func(f *deferred.Failure) (any, error) {
		done = true
		if errors.Is(f.Value(), ErrDropItem) {
			e.stats.ItemsDropped++
			return nil, nil
		}
		e.stats.Errors["pipeline"]++
		e.set.Logger.Error("crawl: pipeline failed", "spider", e.spider.Name(), "err", f.Value())
		return nil, nil
	})
	if done {
		return nil
	}
	return d
}

// finish ends r, a request in progress.
func (e *Engine) finish(r *Request) {
	e.inProgress--
	e.sched.done(r)
	if e.job != nil && !e.flushing {
		// Commit what finished at the end of this loop turn, unless a
		// download starting sooner commits it first.
		e.flushing = true
		e.loop.CallLater(0, func() {
			e.flushing = false
			if !e.closed && e.job.dirty() {
				_ = e.commit()
			}
		})
	}
	e.next()
}

// commit writes the job's batch and the stats to the job directory.
func (e *Engine) commit() error {
	st := *e.stats
	st.Finish = e.clk.Now()
	err := e.job.commit(&st)
	if err != nil {
		e.jobFailed(err)
	}
	return err
}

// jobFailed stops a crawl whose job directory failed: what it does next
// could not be resumed.
func (e *Engine) jobFailed(err error) {
	e.stats.Errors["jobdir"]++
	e.set.Logger.Error("crawl: job directory failed; stopping", "spider", e.spider.Name(), "err", err)
	e.Stop()
}

// close ends the crawl: the pipelines are closed, idle connections too,
// and the Deferred fires.
func (e *Engine) close() {
	e.closed = true
	e.stopStarts()
	for _, s := range e.slots {
		if s.timer != nil {
			_ = s.timer.Cancel()
		}
	}
	for _, p := range e.set.Pipelines {
		if c, ok := p.(Closer); ok {
			if err := c.Close(); err != nil {
				e.stats.Errors["pipeline"]++
				e.set.Logger.Error("crawl: closing a pipeline failed", "spider", e.spider.Name(), "err", err)
			}
		}
	}
	e.pool.CloseCachedConnections()
	e.stats.Finish = e.clk.Now()
	if e.job != nil {
		if err := e.job.commit(e.stats); err != nil {
			e.stats.Errors["jobdir"]++
			e.set.Logger.Error("crawl: job directory failed", "spider", e.spider.Name(), "err", err)
		}
		if err := e.job.close(); err != nil {
			e.stats.Errors["jobdir"]++
			e.set.Logger.Error("crawl: closing the job directory failed", "spider", e.spider.Name(), "err", err)
		}
	}
	e.done.Callback(e.stats)
}
