package client

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/internal/http1"
)

// Errors of a response.
var (
	// ErrResponseDone is the reason BodyConsumer.ConnectionLost gets when
	// the whole body arrived (Twisted's ResponseDone).
	ErrResponseDone = errors.New("client: response body complete")
	// ErrResponseFailed is the reason when the connection ended before the
	// response did (Twisted's ResponseFailed); the cause is wrapped too.
	ErrResponseFailed = errors.New("client: response failed")
	// ErrPotentialDataLoss is the reason when a body delimited by the end
	// of the connection ended: it cannot be told from a cut (Twisted's
	// PotentialDataLoss).
	ErrPotentialDataLoss = errors.New("client: body ended with the connection; it may be incomplete")
	// ErrAborted is the reason after Response.Abort.
	ErrAborted = errors.New("client: response aborted")
)

// A BodyConsumer receives a response body (Twisted's IProtocol given to
// deliverBody): DataReceived for each piece, valid only during the call,
// then ConnectionLost once with ErrResponseDone or the failure.
type BodyConsumer interface {
	DataReceived(b []byte)
	ConnectionLost(reason error)
}

// Response is a response whose head has arrived (Twisted's IResponse).
type Response struct {
	// Code and Phrase are the status.
	Code   int
	Phrase string
	// Version is "HTTP/1.0" or "HTTP/1.1".
	Version string
	// Headers are the response's header fields.
	Headers web.Header
	// Length is the body's length, or -1 when it is not known in advance.
	Length int64

	c        *conn
	consumer BodyConsumer
	pending  []byte // body that arrived before DeliverBody
	end      error  // set when the body ended before DeliverBody
	// wrap, if set, stands a decoder between the body and the consumer
	// DeliverBody is given (ContentDecoderAgent).
	wrap func(BodyConsumer) BodyConsumer
}

// DeliverBody starts delivering the body to p; it may be called once.
func (r *Response) DeliverBody(p BodyConsumer) {
	if r.consumer != nil {
		panic("client: DeliverBody called twice")
	}
	if r.wrap != nil {
		p = r.wrap(p)
	}
	r.consumer = p
	if len(r.pending) > 0 {
		b := r.pending
		r.pending = nil
		p.DataReceived(b)
	}
	if r.end != nil {
		p.ConnectionLost(r.end)
		return
	}
	if r.c != nil {
		r.c.resumeBody()
	}
}

// PauseProducing stops the body for now: the connection stops reading.
func (r *Response) PauseProducing() {
	if r.c != nil && r.c.resp == r {
		r.c.pause()
	}
}

// ResumeProducing resumes a paused body.
func (r *Response) ResumeProducing() {
	if r.c != nil && r.c.resp == r {
		r.c.resume()
	}
}

// StopProducing is Abort, so that a Response can be a producer.
func (r *Response) StopProducing() { r.Abort() }

// Abort drops the rest of the body and closes the connection.
func (r *Response) Abort() {
	if r.c != nil && r.c.resp == r {
		r.c.fail(ErrAborted)
		r.c.t.AbortConnection()
	}
}

// exchange is one request on a connection.
type exchange struct {
	method string
	head   []byte             // request head and body, written at once
	d      *deferred.Deferred // fires with the *Response
	reused bool               // sent on a pooled connection
	retry  func()             // sends the request again, or nil
	// where it is, for Cancel: the connection it was sent on, or the
	// connector still connecting for it
	conn      *conn
	connector internet.Connector
}

// cancel abandons the exchange: its connection is closed, or its
// connecting stopped (the Deferred's canceller).
func (ex *exchange) cancel(*deferred.Deferred) {
	ex.retry = nil
	switch {
	case ex.conn != nil:
		ex.conn.t.AbortConnection()
	case ex.connector != nil:
		_ = ex.connector.StopConnecting()
	}
}

// conn states.
const (
	cIdle = iota
	cHead
	cBody
	cClosed
	cTunnel // waiting for the proxy's answer to CONNECT
)

// conn is one client connection (Twisted's HTTP11ClientProtocol): one
// request at a time.
type conn struct {
	agent  *Agent
	key    string
	t      internet.Transport
	state  int
	ex     *exchange
	resp   *Response
	buf    []byte
	scan   int
	fr     http1.Framing
	left   int64
	dec    http1.ChunkedDecoder
	keep   bool // the connection may carry another request
	paused bool // we paused the transport's reading
	got    bool // bytes of the response arrived
	timer  clock.DelayedCall
	first  *exchange // the request to send once connected
	// tunnel, if set, is the host:port a proxy is asked to CONNECT to
	// before first is sent, in TLS with tunnelTLS.
	tunnel    string
	tunnelTLS *tls.Config
}

func (c *conn) ConnectionMade(t internet.Transport) {
	c.t = t
	if c.tunnel != "" && c.first != nil {
		c.state, c.ex = cTunnel, c.first
		c.first.conn = c
		c.first = nil
		_, err := t.Write([]byte("CONNECT " + c.tunnel + " HTTP/1.1\r\nHost: " + c.tunnel + "\r\n\r\n"))
		if err != nil {
			c.fail(err)
			return
		}
		c.armTimer(c.agent.limits().HeaderTimeout)
		return
	}
	if ex := c.first; ex != nil {
		c.first = nil
		c.send(ex)
	}
}

// send writes ex's request.
func (c *conn) send(ex *exchange) {
	c.ex, c.state, c.got, c.scan = ex, cHead, false, 0
	ex.conn = c
	c.buf = c.buf[:0]
	if _, err := c.t.Write(ex.head); err != nil {
		c.fail(err)
		return
	}
	c.armTimer(c.agent.limits().HeaderTimeout)
}

func (c *conn) armTimer(d time.Duration) {
	c.stopTimer()
	if clk := c.agent.clock(); clk != nil && d > 0 {
		c.timer = clk.CallLater(d, func() {
			c.fail(ErrTimeout)
			c.t.AbortConnection()
		})
	}
}

func (c *conn) stopTimer() {
	if c.timer != nil && c.timer.Active() {
		_ = c.timer.Cancel()
	}
	c.timer = nil
}

func (c *conn) DataReceived(data []byte) {
	if c.state == cIdle || c.state == cClosed {
		// Bytes nobody asked for: the connection cannot be trusted.
		c.state = cClosed
		c.t.AbortConnection()
		return
	}
	c.got = true
	if c.state == cTunnel {
		c.tunnelAnswer(data)
		return
	}
	if len(c.buf) == 0 {
		n := c.process(data)
		if n < len(data) && c.state != cClosed && c.state != cIdle {
			c.buf = append(c.buf, data[n:]...)
		}
		return
	}
	c.buf = append(c.buf, data...)
	n := c.process(c.buf)
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
}

// process consumes the response from p and returns the bytes used.
func (c *conn) process(p []byte) int {
	n := 0
	for n < len(p) && (c.state == cHead || c.state == cBody) {
		if c.state == cHead {
			lim := c.agent.headLimits()
			hn, next, err := http1.ScanHead(p[n:], c.scan, &lim)
			if err != nil {
				c.protocolError(err)
				return len(p)
			}
			if hn < 0 {
				c.scan = next
				return n
			}
			c.scan = 0
			if !c.head(string(p[n:n+hn]), &lim) {
				return len(p)
			}
			n += hn
			continue
		}
		n += c.body(p[n:])
	}
	return n
}

// tunnelAnswer reads the proxy's answer to CONNECT; on 2xx it starts TLS
// and sends the request through the tunnel.
func (c *conn) tunnelAnswer(data []byte) {
	c.buf = append(c.buf, data...)
	lim := c.agent.headLimits()
	n, next, err := http1.ScanHead(c.buf, c.scan, &lim)
	if err != nil {
		c.protocolError(err)
		return
	}
	if n < 0 {
		c.scan = next
		return
	}
	h, err := http1.ParseResponseHead(string(c.buf[:n]), &lim)
	switch {
	case err != nil:
		c.protocolError(err)
		return
	case h.Status/100 != 2 || n != len(c.buf):
		// A refusal, or bytes the server sent before TLS: no tunnel.
		c.protocolError(ErrProxyConnect)
		return
	}
	st, ok := c.t.(internet.TLSStarter)
	if !ok {
		c.protocolError(errors.New("client: the transport cannot start TLS"))
		return
	}
	if err := st.StartTLS(c.tunnelTLS, true); err != nil {
		c.fail(err)
		return
	}
	c.buf, c.scan = c.buf[:0], 0
	c.send(c.ex)
}

// head parses a response head; interim 1xx responses are skipped.
func (c *conn) head(s string, lim *http1.Limits) bool {
	h, err := http1.ParseResponseHead(s, lim)
	if err != nil {
		c.protocolError(err)
		return false
	}
	if h.Status/100 == 1 && h.Status != 101 {
		return true // 100 Continue and the like: the real answer follows
	}
	fr, err := http1.ResponseFraming(h, c.ex.method)
	if err != nil {
		c.protocolError(err)
		return false
	}
	c.fr, c.left = fr, fr.Length
	c.keep = c.keep && fr.Length >= 0 && !h.Header.HasToken("Connection", "close") &&
		(h.Minor > 0 || h.Header.HasToken("Connection", "keep-alive"))
	r := &Response{Code: h.Status, Phrase: h.Reason, Version: h.Proto, Headers: h.Header, Length: fr.Length, c: c}
	if fr.Chunked {
		r.Length = -1
		c.dec.Reset()
		c.dec.MaxTrailer = lim.MaxHeaderBytes
	}
	c.resp, c.state = r, cBody
	c.armTimer(c.agent.limits().BodyTimeout)
	ex := c.ex
	if !fr.Chunked && fr.Length == 0 {
		c.bodyDone(ErrResponseDone)
	}
	ex.d.Callback(r)
	return c.state != cClosed
}

// body delivers body bytes from p.
func (c *conn) body(p []byte) int {
	c.armTimer(c.agent.limits().BodyTimeout)
	switch {
	case c.fr.Chunked:
		n := 0
		for n < len(p) && !c.dec.Done() && c.state == cBody {
			k, data, err := c.dec.Decode(p[n:])
			n += k
			if err != nil {
				c.protocolError(err)
				return len(p)
			}
			c.deliver(data)
		}
		if c.dec.Done() && c.state == cBody {
			c.bodyDone(ErrResponseDone)
		}
		return n
	case c.fr.Length < 0:
		c.deliver(p)
		return len(p)
	}
	k := min(int64(len(p)), c.left)
	c.left -= k
	c.deliver(p[:k])
	if c.left == 0 && c.state == cBody {
		c.bodyDone(ErrResponseDone)
	}
	return int(k)
}

// deliver hands body bytes to the consumer, or holds them until there is
// one, pausing the connection while it waits.
func (c *conn) deliver(b []byte) {
	if len(b) == 0 {
		return
	}
	r := c.resp
	if r == nil {
		return // the consumer aborted the response
	}
	if r.consumer != nil {
		r.consumer.DataReceived(b)
		return
	}
	r.pending = append(r.pending, b...)
	c.pause()
}

// resumeBody resumes reading once DeliverBody has a consumer.
func (c *conn) resumeBody() {
	if c.resp != nil && c.state == cBody {
		c.resume()
	}
}

// bodyDone ends the response and frees or closes the connection.
func (c *conn) bodyDone(reason error) {
	r := c.resp
	c.resp, c.ex = nil, nil
	c.stopTimer()
	keep := c.keep && reason == ErrResponseDone && len(c.buf) == 0
	if keep {
		c.state = cIdle
	} else {
		c.state = cClosed
	}
	if r.consumer != nil {
		r.consumer.ConnectionLost(reason)
	} else {
		r.end = reason
	}
	if keep {
		c.resume() // an idle connection reads, to see the server close it
		c.agent.pool().put(c)
	} else if reason == ErrResponseDone {
		c.t.LoseConnection()
	}
}

// protocolError fails the exchange on a malformed response.
func (c *conn) protocolError(err error) {
	c.fail(err)
	c.t.AbortConnection()
}

// fail ends the exchange in progress with err.
func (c *conn) fail(err error) {
	ex, r := c.ex, c.resp
	c.state = cClosed
	c.ex, c.resp = nil, nil
	c.stopTimer()
	failure := &responseError{err}
	switch {
	case r != nil:
		if r.consumer != nil {
			r.consumer.ConnectionLost(failure)
		} else {
			r.end = failure
		}
	case ex != nil && ex.reused && !c.got && ex.retry != nil && idempotent(ex.method):
		// A pooled connection the server had closed: send it again on a
		// new one, once (as Twisted's pool retries).
		ex.retry()
	case ex != nil:
		ex.d.Errback(failure)
	}
}

func (c *conn) ConnectionLost(reason error) {
	c.agent.pool().remove(c)
	if ex := c.first; ex != nil {
		// Lost before it was made: a TLS handshake that failed.
		c.first = nil
		ex.d.Errback(&responseError{reason})
		return
	}
	switch c.state {
	case cBody:
		if c.fr.Length < 0 && !c.fr.Chunked {
			c.bodyDone(ErrPotentialDataLoss)
			return
		}
		c.fail(reason)
	case cHead, cTunnel:
		c.fail(reason)
	}
	c.state = cClosed
}

func (c *conn) pause() {
	if !c.paused {
		c.paused = true
		c.t.PauseProducing()
	}
}

func (c *conn) resume() {
	if c.paused {
		c.paused = false
		c.t.ResumeProducing()
	}
}

func idempotent(method string) bool {
	switch strings.ToUpper(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// responseError is ErrResponseFailed with its cause.
type responseError struct{ cause error }

func (e *responseError) Error() string   { return ErrResponseFailed.Error() + ": " + e.cause.Error() }
func (e *responseError) Unwrap() []error { return []error{ErrResponseFailed, e.cause} }
