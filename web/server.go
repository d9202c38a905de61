package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/web/internal/http1"
)

// Limits bound what one client can make a connection hold or wait for.
// A zero field takes its default.
type Limits struct {
	// MaxRequestLine bounds the request line: longer is 414.
	// Default 8 KiB.
	MaxRequestLine int
	// MaxHeaderBytes bounds the head, request line and fields: larger is
	// 431. Default 64 KiB.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields: more is 431.
	// Default 100.
	MaxHeaders int
	// MaxBodySize bounds a request body, which is held in memory: larger
	// is 413. Default 10 MiB.
	MaxBodySize int64
	// MaxPipelineBytes bounds the input buffered while a request is being
	// answered; past it the connection stops reading until the response
	// is done (Twisted's _optimisticEagerReadSize). Default 16 KiB.
	MaxPipelineBytes int
	// HeaderTimeout bounds the time from a request's first byte to the
	// end of its head: past it, 408 and close. Default 30 s.
	HeaderTimeout time.Duration
	// IdleTimeout closes a connection that sends nothing for this long
	// between requests, or while sending a body (408 then). It does not
	// run while a request is being answered. Default 3 minutes.
	IdleTimeout time.Duration
}

// Default limits.
const (
	DefaultMaxRequestLine   = http1.DefaultMaxRequestLine
	DefaultMaxHeaderBytes   = http1.DefaultMaxHeaderBytes
	DefaultMaxHeaders       = http1.DefaultMaxHeaders
	DefaultMaxBodySize      = 10 << 20
	DefaultMaxPipelineBytes = 16 << 10
	DefaultHeaderTimeout    = 30 * time.Second
	DefaultIdleTimeout      = 3 * time.Minute
)

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxRequestLine, DefaultMaxRequestLine)
	def(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&l.MaxHeaders, DefaultMaxHeaders)
	def(&l.MaxPipelineBytes, DefaultMaxPipelineBytes)
	if l.MaxBodySize <= 0 {
		l.MaxBodySize = DefaultMaxBodySize
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = DefaultHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// A Site serves a resource tree over HTTP/1.1: it is the internet.Factory
// to listen with (Twisted's server.Site). Set its fields before it serves.
// A Site may serve from a loop group: it keeps no per-connection state
// outside its connections.
type Site struct {
	// Resource is the root of the tree.
	Resource Resource
	// Limits bound each connection; zero fields take the defaults.
	Limits Limits
	// AccessLog receives a line per request in the combined log format;
	// nil logs nothing. Writes are serialised.
	AccessLog io.Writer
	// Clock times the time-outs; nil uses the connection's loop. Tests
	// set a task.Clock.
	Clock clock.Clock

	once   sync.Once
	lim    Limits
	hl     http1.Limits
	logMu  sync.Mutex
	logBuf []byte
}

// NewSite returns a Site serving root.
func NewSite(root Resource) *Site { return &Site{Resource: root} }

func (s *Site) init() {
	s.lim = s.Limits.withDefaults()
	s.hl = http1.Limits{MaxRequestLine: s.lim.MaxRequestLine, MaxHeaderBytes: s.lim.MaxHeaderBytes, MaxHeaders: s.lim.MaxHeaders}
}

// BuildProtocol returns the HTTP protocol for a new connection.
func (s *Site) BuildProtocol(addr net.Addr) internet.Protocol {
	s.once.Do(s.init)
	return &channel{site: s}
}

// LogPrefix names the site in logs.
func (s *Site) LogPrefix() string { return "Site" }

// getResourceFor walks the tree from the root along req.Postpath (Twisted's
// getChildForRequest), a loop: no recursion however deep the path. A
// GetChild may change Postpath (a virtual host puts a segment back).
func (s *Site) getResourceFor(r *Request) Resource {
	res := s.Resource
	for len(r.Postpath) > 0 && !res.IsLeaf() {
		seg := r.Postpath[0]
		r.Postpath = r.Postpath[1:]
		r.Prepath = append(r.Prepath, seg)
		if res = res.GetChild(seg, r); res == nil {
			return notFound
		}
	}
	return res
}

// render renders req with res, turning a panic into an error.
func (s *Site) render(res Resource, r *Request) (b []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("web: panic in Render", "uri", truncate(r.URI), "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("web: panic in Render: %v", v)
		}
	}()
	return Render(res, r)
}

// splitPath returns the request target's decoded path segments (Twisted:
// the path split on "/" after the leading one, each unquoted). An encoded
// slash stays inside its segment: resources that map segments to files
// must refuse it.
func splitPath(target string) (path string, segs []string) {
	path = target
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if !strings.HasPrefix(path, "/") {
		// absolute-form: drop scheme and authority
		if i := strings.Index(path, "://"); i >= 0 {
			path = path[i+3:]
			if j := strings.IndexByte(path, '/'); j >= 0 {
				path = path[j:]
			} else {
				path = "/"
			}
		} else {
			return path, nil // "*" or an authority
		}
	}
	segs = strings.Split(path[1:], "/")
	for i, s := range segs {
		if strings.IndexByte(s, '%') >= 0 {
			if u, err := url.PathUnescape(s); err == nil {
				segs[i] = u
			}
		}
	}
	return path, segs
}

// Channel states.
const (
	stHead     = iota // reading a request head
	stBody            // reading a request body
	stHandling        // a request is being answered; input is buffered
	stClosed          // closing or closed: input is ignored
)

// bigWrite is the size above which a body write goes to the transport on
// its own instead of through the output buffer.
const bigWrite = 32 << 10

// channel is one HTTP connection (Twisted's HTTPChannel).
type channel struct {
	site *Site
	t    internet.Transport
	clk  clock.Clock

	buf     []byte // input not yet consumed
	out     []byte // output not yet given to the transport
	scanned int    // how much of buf's partial head has been scanned
	req     *Request
	left    int64 // body bytes left (Content-Length)
	dec     http1.ChunkedDecoder

	state     uint8
	chunked   bool // the request body is chunked
	inData    bool // inside DataReceived: output is flushed at its end
	paused    bool // we paused the transport's reading
	closing   bool
	headTimed bool // the header time-out is running

	timer    clock.DelayedCall
	deadline time.Time
	onTimer  func()
}

// ConnectionMade starts the idle time-out.
func (c *channel) ConnectionMade(t internet.Transport) {
	c.t = t
	c.clk = c.site.Clock
	if c.clk == nil {
		if l, ok := t.(internet.Looper); ok {
			c.clk = l.Loop()
		}
	}
	c.onTimer = c.timeout
	c.armTimer()
}

func (c *channel) now() time.Time {
	if c.clk == nil {
		return time.Now()
	}
	return c.clk.Now()
}

// PartialMessage reports whether part of a request has arrived
// (policies.MessageState).
func (c *channel) PartialMessage() bool {
	return c.state == stBody || c.state == stHead && len(c.buf) > 0
}

// Pending reports whether a request is being answered (policies.MessageState).
func (c *channel) Pending() int {
	if c.state == stHandling {
		return 1
	}
	return 0
}

// DataReceived parses what it can of data and answers the requests
// completed, buffering the rest.
func (c *channel) DataReceived(data []byte) {
	if c.state == stClosed {
		return
	}
	c.inData = true
	switch {
	case c.state == stHandling:
		c.buf = append(c.buf, data...)
		if len(c.buf) > c.site.lim.MaxPipelineBytes && !c.paused {
			c.paused = true
			c.t.PauseProducing()
		}
	case len(c.buf) == 0:
		// The common case: parse straight from the loop's buffer.
		n := c.process(data)
		if n < len(data) && c.state != stClosed {
			c.buf = append(c.buf, data[n:]...)
		}
	default:
		c.buf = append(c.buf, data...)
		c.processBuf()
	}
	c.inData = false
	c.flush()
	c.armTimer()
}

// processBuf processes buffered input and keeps what is left.
func (c *channel) processBuf() {
	n := c.process(c.buf)
	if c.state == stClosed {
		c.buf = nil
		return
	}
	rest := copy(c.buf, c.buf[n:])
	c.buf = c.buf[:rest]
	if cap(c.buf) > 2*c.site.lim.MaxPipelineBytes && rest <= c.site.lim.MaxPipelineBytes {
		c.buf = append([]byte(nil), c.buf...) // shrink after a big message
	}
}

// process consumes complete requests and bodies from p and returns how
// many bytes it used. It stops when a request is being answered
// asynchronously, at the end of p, or at an error.
func (c *channel) process(p []byte) int {
	n := 0
	for n < len(p) {
		switch c.state {
		case stHead:
			if c.scanned == 0 {
				if n += http1.SkipEmptyLines(p[n:]); n == len(p) {
					return n
				}
			}
			hn, next, err := http1.ScanHead(p[n:], c.scanned, &c.site.hl)
			if err != nil {
				c.fail(err)
				return len(p)
			}
			if hn < 0 {
				c.scanned = next
				return n
			}
			c.scanned, c.headTimed = 0, false
			c.headDone(string(p[n : n+hn]))
			n += hn
		case stBody:
			n += c.readBody(p[n:])
		default:
			return n
		}
	}
	return n
}

// headDone parses a head and starts its request.
func (c *channel) headDone(head string) {
	rh, err := http1.ParseRequestHead(head, &c.site.hl)
	if err != nil {
		c.fail(err)
		return
	}
	fr, err := http1.RequestFraming(rh)
	if err != nil {
		c.fail(err)
		return
	}
	r := &Request{
		Method: rh.Method, URI: rh.Target, ClientProto: rh.Proto,
		RequestHeaders: rh.Header, Code: 200, CodeMessage: "OK",
		Site: c.site, ch: c, minor: rh.Minor, length: -1,
	}
	r.Path, r.Postpath = splitPath(rh.Target)
	if rh.Minor == 0 {
		r.close = !r.RequestHeaders.HasToken("Connection", "keep-alive")
	} else {
		r.close = r.RequestHeaders.HasToken("Connection", "close")
	}
	c.req = r
	if !fr.Chunked && fr.Length == 0 {
		c.dispatch()
		return
	}
	if fr.Length > c.site.lim.MaxBodySize {
		c.fail(http1.ErrBodyTooLarge)
		return
	}
	if exp := r.GetHeader("Expect"); exp != "" && rh.Minor > 0 {
		if !strings.EqualFold(exp, "100-continue") {
			c.fail(errExpectation)
			return
		}
		c.out = append(c.out, "HTTP/1.1 100 Continue\r\n\r\n"...)
	}
	c.state, c.chunked, c.left = stBody, fr.Chunked, fr.Length
	if fr.Chunked {
		c.dec.Reset()
		c.dec.Max, c.dec.MaxTrailer = c.site.lim.MaxBodySize, c.site.lim.MaxHeaderBytes
	} else {
		r.Content = make([]byte, 0, min(fr.Length, 64<<10))
	}
}

var errExpectation = &http1.Error{Status: 417, Reason: "unsupported expectation"}

// readBody consumes body bytes from p and dispatches the request at the
// body's end.
func (c *channel) readBody(p []byte) int {
	r := c.req
	if !c.chunked {
		k := min(int64(len(p)), c.left)
		r.Content = append(r.Content, p[:k]...)
		if c.left -= k; c.left == 0 {
			c.dispatch()
		}
		return int(k)
	}
	n := 0
	for n < len(p) && !c.dec.Done() {
		k, data, err := c.dec.Decode(p[n:])
		n += k
		if err != nil {
			c.fail(err)
			return len(p)
		}
		r.Content = append(r.Content, data...)
	}
	if c.dec.Done() {
		c.dispatch()
	}
	return n
}

// dispatch finds the request's resource and renders it.
func (c *channel) dispatch() {
	c.state = stHandling
	r := c.req
	r.start = c.now()
	res := c.site.getResourceFor(r)
	body, err := c.site.render(res, r)
	switch {
	case errors.Is(err, NotDoneYet):
	case err != nil:
		if r.Finished() {
			return
		}
		slog.Error("web: Render failed", "uri", truncate(r.URI), "err", err)
		if r.started {
			r.Abort(err)
			return
		}
		r.ResponseHeaders.Reset()
		body = ErrorPage(r, 500, "Processing Failed", "The server could not render this resource.")
		r.writeHead(int64(len(body)))
		r.writeBody(body)
		r.Finish()
	case !r.Finished():
		if !r.started {
			r.writeHead(int64(len(body)))
		}
		r.writeBody(body)
		r.Finish()
	}
}

// writeBody writes response body bytes, as a chunk if chunked.
func (c *channel) writeBody(b []byte, chunked bool) {
	if len(b) > bigWrite {
		if chunked {
			c.out = http1.AppendChunkHeader(c.out, len(b))
		}
		c.flush()
		_, _ = c.t.Write(b)
		if chunked {
			c.out = append(c.out, "\r\n"...)
		}
	} else if chunked {
		c.out = http1.AppendChunk(c.out, b)
	} else {
		c.out = append(c.out, b...)
	}
	if !c.inData {
		c.flush()
	}
}

// flush gives the buffered output to the transport.
func (c *channel) flush() {
	if len(c.out) == 0 {
		return
	}
	_, _ = c.t.Write(c.out)
	if cap(c.out) > 64<<10 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
}

// requestDone follows a finished response: log it, then close the
// connection or go on to the next request.
func (c *channel) requestDone(r *Request) {
	c.req = nil
	c.site.logAccess(r, c.now())
	if r.close {
		c.state, c.closing = stClosed, true
		c.flush()
		c.t.LoseConnection()
		c.stopTimer()
		return
	}
	c.state = stHead
	if c.paused {
		c.paused = false
		c.t.ResumeProducing()
	}
	if !c.inData {
		c.inData = true
		c.processBuf()
		c.inData = false
		c.flush()
		c.armTimer()
	}
}

// fail answers a request the parser refused and closes the connection.
func (c *channel) fail(err error) {
	var he *http1.Error
	if !errors.As(err, &he) {
		he = &http1.Error{Status: 400, Reason: "bad request"}
	}
	slog.Info("web: refused a request", "peer", c.t.RemoteAddr(), "status", he.Status, "reason", he.Reason)
	c.sendError(he.Status, he.Reason)
}

// sendError writes a short plain-text error response and closes.
func (c *channel) sendError(status int, reason string) {
	b := appendStatusLine(c.out, status, statusText(status))
	b = append(b, "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(reason)+1), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, reason...)
	c.out = append(b, '\n')
	c.state, c.closing = stClosed, true
	c.buf = nil
	c.flush()
	c.t.LoseConnection()
	c.stopTimer()
}

// ConnectionLost fails the request being answered, if any.
func (c *channel) ConnectionLost(reason error) {
	c.state = stClosed
	c.stopTimer()
	c.buf = nil
	if r := c.req; r != nil {
		c.req = nil
		r.connectionLost(reason)
	}
}

// armTimer sets the deadline for the state the connection is in.
func (c *channel) armTimer() {
	lim := &c.site.lim
	switch {
	case c.state == stHandling || c.state == stClosed:
		c.deadline = time.Time{}
	case c.state == stBody:
		c.setDeadline(lim.IdleTimeout)
	case len(c.buf) > 0:
		if !c.headTimed {
			c.headTimed = true
			c.setDeadline(lim.HeaderTimeout)
		}
	default:
		c.setDeadline(lim.IdleTimeout)
	}
}

// setDeadline moves the deadline; the one timer is rescheduled only when
// it fires early, so that a busy connection does not touch the timer heap.
func (c *channel) setDeadline(d time.Duration) {
	if c.clk == nil {
		return
	}
	c.deadline = c.clk.Now().Add(d)
	switch {
	case c.timer == nil || !c.timer.Active():
		c.timer = c.clk.CallLater(d, c.onTimer)
	case c.deadline.Before(c.timer.Time()):
		_ = c.timer.Reset(d)
	}
}

func (c *channel) stopTimer() {
	c.deadline = time.Time{}
	if c.timer != nil && c.timer.Active() {
		_ = c.timer.Cancel()
	}
}

// timeout runs when the timer fires: early, it waits for the deadline;
// past it, it closes the connection, with 408 if a request was arriving.
func (c *channel) timeout() {
	if c.deadline.IsZero() || c.state == stClosed {
		return
	}
	if now := c.clk.Now(); now.Before(c.deadline) {
		c.timer = c.clk.CallLater(c.deadline.Sub(now), c.onTimer)
		return
	}
	if c.PartialMessage() {
		slog.Info("web: request timed out", "peer", c.t.RemoteAddr())
		c.sendError(408, "request timed out")
		return
	}
	c.state = stClosed
	c.t.LoseConnection()
}

// statusText is net/http's status text, or "Unknown".
func statusText(code int) string {
	if s := statusTexts[code]; s != "" {
		return s
	}
	return "Unknown"
}

var statusTexts = map[int]string{
	400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
	414: "URI Too Long", 417: "Expectation Failed", 431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented", 505: "HTTP Version Not Supported",
}

// httpDate formats t for the Date header, once a second.
func httpDate(t time.Time) string {
	sec := t.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &cachedDate{sec, t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")}
	dateCache.Store(d)
	return d.s
}

type cachedDate struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[cachedDate]
