package web

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web/internal/http1"
)

// ErrRequestFinished is returned by Write after Finish, or after the
// connection was lost.
var ErrRequestFinished = errors.New("web: write after the request finished")

// A Request is one HTTP request and its response (Twisted's
// server.Request). Its methods must be called on the connection's loop.
type Request struct {
	// Method is the request method, such as "GET".
	Method string
	// URI is the request target as sent, query included.
	URI string
	// Path is the URI's path, still percent-encoded.
	Path string
	// ClientProto is "HTTP/1.0" or "HTTP/1.1".
	ClientProto string
	// RequestHeaders are the request's header fields.
	RequestHeaders Header
	// Content is the request body, complete when the resource renders.
	Content []byte
	// Prepath are the decoded path segments traversal has consumed, and
	// Postpath the ones left: at a leaf, the part of the path below it.
	Prepath, Postpath []string
	// ResponseHeaders are the response's header fields; change them before
	// the first Write.
	ResponseHeaders Header
	// Code is the response status code, 200 unless set.
	Code int
	// CodeMessage is the reason phrase sent with Code.
	CodeMessage string
	// SentLength counts the body bytes written (for HEAD, that would have
	// been written).
	SentLength int64
	// Site is the site serving the request.
	Site *Site

	ch       *channel
	args     url.Values
	start    time.Time
	notify   []*deferred.Deferred
	lostErr  error
	minor    int
	length   int64 // declared response length, -1 unknown
	started  bool  // head written
	finished bool
	chunked  bool // response body chunked
	noBody   bool // HEAD, 1xx, 204, 304
	close    bool // close the connection after the response
}

// GetHeader returns the first request header field named name, or "".
func (r *Request) GetHeader(name string) string { return r.RequestHeaders.Get(name) }

// SetHeader sets a response header field, replacing any of that name.
func (r *Request) SetHeader(name, value string) { r.ResponseHeaders.Set(name, value) }

// SetResponseCode sets the status code, with its standard reason phrase
// unless message gives one.
func (r *Request) SetResponseCode(code int, message ...string) {
	r.Code = code
	if len(message) > 0 {
		r.CodeMessage = message[0]
	} else {
		r.CodeMessage = http.StatusText(code)
	}
}

// Redirect answers 302 Found with Location url (Twisted's redirect).
func (r *Request) Redirect(url string) {
	r.SetResponseCode(http.StatusFound)
	r.SetHeader("Location", url)
}

// Args returns the query's arguments and, for a POST of a form
// (application/x-www-form-urlencoded or multipart/form-data), the form's
// (Twisted's request.args), parsed on first use. A malformed form adds
// nothing.
func (r *Request) Args() url.Values {
	if r.args != nil {
		return r.args
	}
	r.args = url.Values{}
	if i := strings.IndexByte(r.URI, '?'); i >= 0 {
		q, _ := url.ParseQuery(r.URI[i+1:])
		r.args = q
	}
	if r.Method != "POST" || len(r.Content) == 0 {
		return r.args
	}
	ct, params, err := mime.ParseMediaType(r.GetHeader("Content-Type"))
	if err != nil {
		return r.args
	}
	switch ct {
	case "application/x-www-form-urlencoded":
		q, _ := url.ParseQuery(string(r.Content))
		for k, vs := range q {
			r.args[k] = append(r.args[k], vs...)
		}
	case "multipart/form-data":
		r.addMultipart(params["boundary"])
	}
	return r.args
}

// addMultipart adds a multipart form's parts, files included, to args; the
// body is bounded by MaxBodySize, so the parts are too.
func (r *Request) addMultipart(boundary string) {
	if boundary == "" {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(r.Content), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		b, err := io.ReadAll(p)
		if name := p.FormName(); err == nil && name != "" {
			r.args[name] = append(r.args[name], string(b))
		}
	}
}

// Cookie returns the value of the request's cookie name.
func (r *Request) Cookie(name string) (string, bool) {
	for _, line := range r.RequestHeaders.Values("Cookie") {
		cs, err := http.ParseCookie(line)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if c.Name == name {
				return c.Value, true
			}
		}
	}
	return "", false
}

// AddCookie adds a Set-Cookie field to the response (Twisted's addCookie).
func (r *Request) AddCookie(c *http.Cookie) {
	if s := c.String(); s != "" {
		r.ResponseHeaders.Add("Set-Cookie", s)
	}
}

// ClientAddress returns the peer's address (Twisted's getClientAddress).
func (r *Request) ClientAddress() net.Addr {
	if r.ch == nil || r.ch.t == nil {
		return nil
	}
	return r.ch.t.RemoteAddr()
}

// Host returns the address the request arrived at (Twisted's getHost).
func (r *Request) Host() net.Addr {
	if r.ch == nil || r.ch.t == nil {
		return nil
	}
	return r.ch.t.LocalAddr()
}

// IsSecure reports whether the request came over TLS.
func (r *Request) IsSecure() bool {
	if r.ch == nil {
		return false
	}
	t, ok := r.ch.t.(internet.TLSTransport)
	return ok && t.ConnectionState().HandshakeComplete
}

// TLS returns the connection's TLS state, or nil without TLS.
func (r *Request) TLS() *tls.ConnectionState {
	if !r.IsSecure() {
		return nil
	}
	s := r.ch.t.(internet.TLSTransport).ConnectionState()
	return &s
}

// RequestHostname returns the Host field without its port, or the local
// address's host without one (Twisted's getRequestHostname).
func (r *Request) RequestHostname() string {
	h := r.GetHeader("Host")
	if h == "" {
		if a := r.Host(); a != nil {
			h = a.String()
		}
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// PrePathURL returns the absolute URL of the resource being rendered: the
// scheme, the Host, and Prepath (Twisted's prePathURL).
func (r *Request) PrePathURL() string {
	scheme := "http"
	if r.IsSecure() {
		scheme = "https"
	}
	host := r.GetHeader("Host")
	if host == "" {
		host = r.RequestHostname()
	}
	var b strings.Builder
	b.WriteString(scheme + "://" + host)
	for _, seg := range r.Prepath {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	if len(r.Prepath) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// SetLastModified sets Last-Modified and reports whether the client's
// If-Modified-Since shows it has this version, in which case the code is
// now 304 and the resource should render no body (Twisted's
// setLastModified returning CACHED).
func (r *Request) SetLastModified(t time.Time) bool {
	t = t.UTC().Truncate(time.Second)
	r.SetHeader("Last-Modified", t.Format(http.TimeFormat))
	if r.RequestHeaders.Has("If-None-Match") || r.Method != "GET" && r.Method != "HEAD" {
		return false // RFC 9110 §13.1.3: If-None-Match takes precedence
	}
	since, err := http.ParseTime(r.GetHeader("If-Modified-Since"))
	if err != nil || t.After(since) {
		return false
	}
	r.SetResponseCode(http.StatusNotModified)
	return true
}

// SetETag sets ETag (tag is quoted already, as `"abc"` or `W/"abc"`) and
// reports whether the client's If-None-Match matches, in which case the
// code is now 304 for GET and HEAD, 412 otherwise (Twisted's setETag).
func (r *Request) SetETag(tag string) bool {
	r.SetHeader("ETag", tag)
	inm := r.GetHeader("If-None-Match")
	if inm == "" || !etagMatch(inm, tag) {
		return false
	}
	if r.Method == "GET" || r.Method == "HEAD" {
		r.SetResponseCode(http.StatusNotModified)
	} else {
		r.SetResponseCode(http.StatusPreconditionFailed)
	}
	return true
}

// etagMatch applies If-None-Match's weak comparison.
func etagMatch(list, tag string) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	tag = strings.TrimPrefix(tag, "W/")
	for part := range strings.SplitSeq(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(part), "W/") == tag {
			return true
		}
	}
	return false
}

// NotifyFinish returns a Deferred that fires with nil once the response
// has been written, or fails with the reason if the connection was lost
// first (Twisted's notifyFinish).
func (r *Request) NotifyFinish() *deferred.Deferred {
	switch {
	case r.lostErr != nil:
		return deferred.Fail(r.lostErr)
	case r.finished:
		return deferred.Succeed(nil)
	}
	d := deferred.New()
	r.notify = append(r.notify, d)
	return d
}

// Finished reports whether Finish was called or the connection was lost.
func (r *Request) Finished() bool { return r.finished || r.lostErr != nil }

// RegisterProducer makes p the source of the response body, paced by the
// connection's flow control (Twisted's Request.registerProducer).
func (r *Request) RegisterProducer(p internet.Producer, streaming bool) error {
	if r.ch == nil || r.lostErr != nil {
		return ErrRequestFinished
	}
	return r.ch.t.RegisterProducer(p, streaming)
}

// UnregisterProducer removes the producer RegisterProducer registered.
func (r *Request) UnregisterProducer() {
	if r.ch != nil && r.lostErr == nil {
		r.ch.t.UnregisterProducer()
	}
}

// Write sends b as part of the body, the status and header first if they
// have not gone yet. A response without a Content-Length header is sent
// chunked to an HTTP/1.1 client, and delimited by closing the connection
// to an HTTP/1.0 one. Bytes past a declared Content-Length are dropped.
func (r *Request) Write(b []byte) error {
	if r.finished || r.lostErr != nil {
		return ErrRequestFinished
	}
	if !r.started {
		r.writeHead(-1)
	}
	r.writeBody(b)
	return nil
}

func (r *Request) writeBody(b []byte) {
	if len(b) == 0 {
		return
	}
	if r.length >= 0 && int64(len(b)) > r.length-r.SentLength {
		b = b[:r.length-r.SentLength]
	}
	r.SentLength += int64(len(b))
	if r.noBody {
		return
	}
	r.ch.writeBody(b, r.chunked)
}

// Finish ends the response (Twisted's finish). Finishing a request that
// finished, or whose connection was lost, does nothing.
func (r *Request) Finish() {
	if r.finished || r.lostErr != nil {
		return
	}
	if !r.started {
		r.writeHead(0)
	}
	if r.chunked {
		r.ch.out = append(r.ch.out, http1.LastChunk...)
	} else if r.length > r.SentLength && !r.noBody {
		// Less body than declared: the framing is broken, so the
		// connection must go.
		r.close = true
		slog.Warn("web: response shorter than its Content-Length", "uri", truncate(r.URI), "declared", r.length, "sent", r.SentLength)
	}
	r.finished = true
	r.ch.requestDone(r)
	for _, d := range r.notify {
		d.Callback(nil)
	}
	r.notify = nil
}

// Abort cuts the response short when it cannot be finished properly (a
// proxied body that broke off, say): the connection is closed at once, so
// that the client sees a cut rather than a complete response, and
// NotifyFinish fails with err. After Finish it does nothing.
func (r *Request) Abort(err error) {
	if r.Finished() {
		return
	}
	c := r.ch
	c.state, c.req = stClosed, nil
	c.flush()
	c.t.AbortConnection()
	r.connectionLost(err)
}

// connectionLost fails NotifyFinish's Deferreds.
func (r *Request) connectionLost(reason error) {
	if r.finished || r.lostErr != nil {
		return
	}
	r.lostErr = reason
	for _, d := range r.notify {
		d.Errback(reason)
	}
	r.notify = nil
}

// writeHead writes the status line and header; length is the body's
// length when known, else -1.
func (r *Request) writeHead(length int64) {
	r.started = true
	code := r.Code
	r.noBody = r.Method == "HEAD" || code/100 == 1 || code == 204 || code == 304
	h := &r.ResponseHeaders
	r.length = -1
	if cl := h.Get("Content-Length"); cl != "" {
		if n, ok := http1.ParseLength(cl); ok {
			r.length = n
		} else {
			h.Del("Content-Length")
		}
	}
	h.Del("Transfer-Encoding") // framing is ours to choose
	switch {
	case r.length >= 0:
	case code/100 == 1 || code == 204 || code == 304:
		r.length = 0
	case length >= 0:
		r.length = length
		h.Add("Content-Length", strconv.FormatInt(length, 10))
	case r.minor > 0:
		r.chunked = !r.noBody
		if r.chunked {
			h.Add("Transfer-Encoding", "chunked")
		}
	default:
		r.close = true // HTTP/1.0: the end of the body is the end of the connection
	}
	if code != 204 && code != 304 && !h.Has("Content-Type") {
		h.Add("Content-Type", defaultContentType)
	}
	c := r.ch
	b := c.out
	b = appendStatusLine(b, code, r.CodeMessage)
	b = append(b, "Date: "...)
	b = append(b, httpDate(c.now())...)
	b = append(b, "\r\n"...)
	if r.close || c.closing {
		r.close = true
		b = append(b, "Connection: close\r\n"...)
	} else if r.minor == 0 {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = h.AppendTo(b)
	c.out = append(b, "\r\n"...)
}

// defaultContentType is the Content-Type of responses that set none
// (Twisted's Request.defaultContentType).
const defaultContentType = "text/html"

func appendStatusLine(b []byte, code int, msg string) []byte {
	if code == 200 && msg == "OK" {
		return append(b, "HTTP/1.1 200 OK\r\n"...)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, msg)...)
	return append(b, "\r\n"...)
}

// truncate bounds a peer's string for logs and error texts.
func truncate(s string) string {
	const n = 128
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Clock returns the clock the request's connection times with: the site's
// Clock if set, else the connection's loop. Asynchronous resources
// schedule their work on it.
func (r *Request) Clock() clock.Clock {
	if r.ch == nil || r.ch.clk == nil {
		return nil
	}
	return r.ch.clk
}

// Loop returns the loop the request's connection lives on, or nil for a
// transport that is not on a loop (a test's fake).
func (r *Request) Loop() *reactor.Reactor {
	if r.ch == nil {
		return nil
	}
	if l, ok := r.ch.t.(internet.Looper); ok {
		return l.Loop()
	}
	return nil
}
