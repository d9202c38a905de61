package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/internal/http1"
)

// Limits bound what a server can make the client hold or wait for; a zero
// field takes its default.
type Limits struct {
	// MaxHeaderBytes bounds a response head. Default 64 KiB.
	MaxHeaderBytes int
	// MaxHeaders bounds its fields. Default 100.
	MaxHeaders int
	// MaxBodySize bounds what ReadBody gathers. Default 64 MiB.
	MaxBodySize int64
	// ConnectTimeout bounds connecting. Default 30 s.
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait from sending a request to its
	// response's head. Default 60 s.
	HeaderTimeout time.Duration
	// BodyTimeout bounds each wait for more of a body. Default 60 s.
	BodyTimeout time.Duration
}

// Default limits.
const (
	DefaultMaxBodySize    = 64 << 20
	DefaultConnectTimeout = 30 * time.Second
	DefaultHeaderTimeout  = 60 * time.Second
	DefaultBodyTimeout    = 60 * time.Second
)

// ErrTimeout is the cause of a response that took too long.
var ErrTimeout = errors.New("client: timed out")

// ErrBodyTooLarge is ReadBody's failure past Limits.MaxBodySize.
var ErrBodyTooLarge = errors.New("client: response body too large")

// An Agent sends HTTP requests from a loop (Twisted's Agent).
type Agent struct {
	// Loop runs the connections; requests are made on it.
	Loop *reactor.Reactor
	// Pool keeps connections for reuse; nil makes one connection per
	// request (Twisted's default, non-persistent pool).
	Pool *Pool
	// Limits bound each response.
	Limits Limits
	// TLS configures https; nil uses the system's roots.
	TLS *tls.Config
	// UserAgent is sent unless the request's headers name one.
	UserAgent string
	// Clock times the time-outs; nil uses Loop. Tests set a task.Clock.
	Clock clock.Clock
	// Proxy, if set, is the host:port of an HTTP proxy: every http request
	// is sent to it with its URL in absolute form (Twisted's ProxyAgent),
	// over the proxy's persistent connections; an https request goes
	// through a CONNECT tunnel to its host, TLS inside it end to end. A
	// proxy that refuses the tunnel fails the request with ErrProxyConnect.
	Proxy string

	own *Pool
}

// NewAgent returns an agent on loop with a persistent pool.
func NewAgent(loop *reactor.Reactor) *Agent {
	return &Agent{Loop: loop, Pool: NewPool()}
}

// NewProxyAgent returns an agent on loop with a persistent pool that sends
// its requests through the HTTP proxy at proxyAddr (host:port), as
// Twisted's ProxyAgent.
func NewProxyAgent(loop *reactor.Reactor, proxyAddr string) *Agent {
	return &Agent{Loop: loop, Pool: NewPool(), Proxy: proxyAddr}
}

// ErrProxyConnect is the failure of an https request whose proxy did not
// open a tunnel (answered CONNECT with other than 2xx).
var ErrProxyConnect = errors.New("client: the proxy refused the tunnel")

func (a *Agent) limits() Limits {
	l := a.Limits
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = http1.DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = http1.DefaultMaxHeaders
	}
	if l.MaxBodySize <= 0 {
		l.MaxBodySize = DefaultMaxBodySize
	}
	if l.ConnectTimeout <= 0 {
		l.ConnectTimeout = DefaultConnectTimeout
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = DefaultHeaderTimeout
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = DefaultBodyTimeout
	}
	return l
}

func (a *Agent) headLimits() http1.Limits {
	l := a.limits()
	return http1.Limits{MaxRequestLine: l.MaxHeaderBytes, MaxHeaderBytes: l.MaxHeaderBytes, MaxHeaders: l.MaxHeaders}
}

func (a *Agent) clock() clock.Clock {
	if a.Clock != nil {
		return a.Clock
	}
	if a.Loop != nil {
		return a.Loop
	}
	return nil
}

func (a *Agent) pool() *Pool {
	if a.Pool != nil {
		return a.Pool
	}
	if a.own == nil {
		a.own = &Pool{MaxPerHost: -1}
	}
	return a.own
}

// ErrUnsupportedScheme is the failure for a URL that is not http or https.
var ErrUnsupportedScheme = errors.New("client: only http and https URLs are supported")

// Request sends a request and returns a Deferred that fires with the
// *Response once its head has arrived, or fails (Twisted's
// Agent.request). headers may be nil; body, if not nil, is sent with a
// Content-Length. Cancelling the Deferred before it fires closes the
// request's connection. Call it on the agent's loop.
func (a *Agent) Request(method, rawURL string, headers *web.Header, body []byte) *deferred.Deferred {
	u, err := url.Parse(rawURL)
	if err != nil {
		return deferred.Fail(fmt.Errorf("client: %w", err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return deferred.Fail(ErrUnsupportedScheme)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	scheme, target, key := u.Scheme, u.RequestURI(), u.Scheme+"://"+host
	tunnel := ""
	switch {
	case a.Proxy != "" && scheme == "https":
		tunnel, host, scheme = host, a.Proxy, "http"
		key += " via " + a.Proxy
	case a.Proxy != "":
		host = a.Proxy
		abs := *u
		abs.Fragment, abs.RawFragment = "", ""
		target, key = abs.String(), "http://"+a.Proxy
	}
	ex := &exchange{method: method}
	ex.d = deferred.NewWithCanceller(ex.cancel)
	ex.head = a.requestHead(method, target, u.Host, headers, body)
	send := func(fresh bool) {
		if !fresh {
			if c := a.pool().get(key); c != nil {
				ex.reused = true
				c.send(ex)
				return
			}
		}
		ex.reused = false
		a.connect(scheme, host, key, tunnel, ex)
	}
	ex.retry = func() {
		ex.retry = nil
		send(true)
	}
	send(false)
	return ex.d
}

// requestHead formats the request line, header and body.
func (a *Agent) requestHead(method, target, hostField string, headers *web.Header, body []byte) []byte {
	b := make([]byte, 0, 256+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, hostField...)
	b = append(b, "\r\n"...)
	var h web.Header
	if headers != nil {
		h = headers.Clone()
	}
	for _, name := range []string{"Host", "Content-Length", "Transfer-Encoding", "Connection"} {
		h.Del(name)
	}
	if a.UserAgent != "" && !h.Has("User-Agent") {
		h.Add("User-Agent", a.UserAgent)
	}
	if a.Pool == nil {
		h.Add("Connection", "close")
	}
	if body != nil || method == "POST" || method == "PUT" {
		h.Add("Content-Length", strconv.Itoa(len(body)))
	}
	b = h.AppendTo(b)
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// connect opens a new connection for ex; with tunnel (host:port) it asks
// the proxy at host for a tunnel there and starts TLS in it.
func (a *Agent) connect(scheme, host, key, tunnel string, ex *exchange) {
	c := &conn{agent: a, key: key, first: ex, keep: a.Pool != nil}
	f := &connFactory{c: c}
	opts := []internet.ConnectOption{internet.WithTimeout(a.limits().ConnectTimeout)}
	cfg := a.TLS
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if tunnel != "" {
		c.tunnel, c.tunnelTLS = tunnel, cfg
		if cfg.ServerName == "" {
			c.tunnelTLS = cfg.Clone()
			c.tunnelTLS.ServerName, _, _ = net.SplitHostPort(tunnel)
		}
	}
	if scheme == "https" {
		ex.connector = internet.ConnectTLS(a.Loop, host, cfg, f, opts...)
		return
	}
	ex.connector = internet.ConnectTCP(a.Loop, host, f, opts...)
}

// connFactory makes one connection's protocol and fails its first request
// if connecting fails.
type connFactory struct {
	internet.BaseClientFactory
	c *conn
}

func (f *connFactory) BuildProtocol(net.Addr) internet.Protocol { return f.c }

func (f *connFactory) ClientConnectionFailed(_ internet.Connector, reason error) {
	if ex := f.c.first; ex != nil {
		f.c.first = nil
		ex.d.Errback(&responseError{reason})
	}
}

// ReadBody gathers a response's body and returns a Deferred that fires
// with it as a []byte (Twisted's readBody), or fails; a body that passes
// the agent's MaxBodySize fails with ErrBodyTooLarge and is aborted.
func ReadBody(r *Response) *deferred.Deferred {
	max := int64(DefaultMaxBodySize)
	if r.c != nil {
		max = r.c.agent.limits().MaxBodySize
	}
	rb := &bodyReader{d: deferred.New(), r: r, max: max}
	r.DeliverBody(rb)
	return rb.d
}

type bodyReader struct {
	d    *deferred.Deferred
	r    *Response
	max  int64
	buf  []byte
	over bool
}

func (b *bodyReader) DataReceived(p []byte) {
	if b.over {
		return
	}
	if int64(len(b.buf)+len(p)) > b.max {
		b.over = true
		b.buf = nil
		b.d.Errback(ErrBodyTooLarge)
		b.r.Abort()
		return
	}
	b.buf = append(b.buf, p...)
}

func (b *bodyReader) ConnectionLost(reason error) {
	switch {
	case b.over:
	case errors.Is(reason, ErrResponseDone):
		b.d.Callback(b.buf)
	default:
		b.d.Errback(reason)
	}
}

// GetPage fetches url with GET and returns a Deferred that fires with its
// body as a []byte, failing on a status of 400 or more with an *Error (as
// Twisted's getPage), on a connection of its own.
func GetPage(loop *reactor.Reactor, url string) *deferred.Deferred {
	a := &Agent{Loop: loop}
	return a.Request("GET", url, nil, nil).AddCallback(func(v any) (any, error) {
		r := v.(*Response)
		return ReadBody(r).AddCallback(func(body any) (any, error) {
			if r.Code >= 400 {
				return nil, &Error{Code: r.Code, Phrase: r.Phrase, Body: body.([]byte)}
			}
			return body, nil
		}), nil
	})
}

// Error is GetPage's failure for an error status (Twisted's web.error.Error).
type Error struct {
	Code   int
	Phrase string
	Body   []byte
}

func (e *Error) Error() string {
	return "client: " + strconv.Itoa(e.Code) + " " + strings.TrimSpace(e.Phrase)
}
