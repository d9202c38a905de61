// Package webtest drives a web.Site without sockets, for unit tests (as
// twisted.web.test's DummyRequest and requesthelper): a Conn feeds request
// bytes to the site's protocol over a twisttest.StringTransport, on a fake
// clock, and parses what the site wrote back into Responses with the same
// parser a client uses.
package webtest

import (
	"errors"
	"fmt"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/internal/http1"
)

// A Conn is one fake connection to a site.
type Conn struct {
	// T is the transport: T.Value() is everything the site wrote.
	T *twisttest.StringTransportWithDisconnection
	// P is the site's protocol for the connection.
	P internet.Protocol
	// Clock is the site's clock.
	Clock *task.Clock

	methods []string // of requests sent and not yet answered, for HEAD
	read    int      // bytes of T's output parsed already
}

// Connect opens a fake connection to site. If the site has no Clock, it
// gets a new task.Clock, which Conn.Clock returns either way.
func Connect(site *web.Site) *Conn {
	clk, ok := site.Clock.(*task.Clock)
	if !ok {
		clk = task.NewClock()
		site.Clock = clk
	}
	c := &Conn{T: &twisttest.StringTransportWithDisconnection{}, Clock: clk}
	c.T.Lenient = true
	c.P = site.BuildProtocol(c.T.RemoteAddr())
	c.T.Protocol = c.P
	c.P.ConnectionMade(c.T)
	return c
}

// Send delivers raw bytes as one read. method names the request(s) they
// complete, in order, so that responses to HEAD are parsed without a body;
// without it, each response is taken to answer a GET.
func (c *Conn) Send(raw string, methods ...string) {
	c.methods = append(c.methods, methods...)
	c.P.DataReceived([]byte(raw))
}

// Lose tells the protocol the client went away.
func (c *Conn) Lose() { c.T.LoseConnection() }

// Response is a parsed response.
type Response struct {
	Status int
	Reason string
	Header web.Header
	Body   []byte
	// Chunked reports whether the body came chunked.
	Chunked bool
}

// ErrIncomplete is returned by Next when the site has not written a whole
// response yet.
var ErrIncomplete = errors.New("webtest: no complete response yet")

// Next parses the next response the site wrote; interim (1xx) responses
// are returned too. A response whose body runs to the end of the
// connection is complete only once the transport is closing.
func (c *Conn) Next() (*Response, error) {
	out := c.T.Value()[c.read:]
	lim := http1.DefaultLimits()
	n, _, err := http1.ScanHead(out, 0, &lim)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, ErrIncomplete
	}
	h, err := http1.ParseResponseHead(string(out[:n]), &lim)
	if err != nil {
		return nil, err
	}
	method := "GET"
	if len(c.methods) > 0 && h.Status >= 200 {
		method = c.methods[0]
	}
	fr, err := http1.ResponseFraming(h, method)
	if err != nil {
		return nil, err
	}
	r := &Response{Status: h.Status, Reason: h.Reason, Header: h.Header, Chunked: fr.Chunked}
	body := out[n:]
	switch {
	case fr.Chunked:
		var d http1.ChunkedDecoder
		used := 0
		for !d.Done() {
			k, data, err := d.Decode(body[used:])
			if err != nil {
				return nil, err
			}
			if k == 0 {
				return nil, ErrIncomplete
			}
			used += k
			r.Body = append(r.Body, data...)
		}
		n += used
	case fr.Length < 0:
		if !c.T.Disconnecting() {
			return nil, ErrIncomplete
		}
		r.Body = body
		n += len(body)
	default:
		if int64(len(body)) < fr.Length {
			return nil, ErrIncomplete
		}
		r.Body = body[:fr.Length]
		n += int(fr.Length)
	}
	c.read += n
	if len(c.methods) > 0 && h.Status >= 200 {
		c.methods = c.methods[1:]
	}
	return r, nil
}

// Must returns the next response or fails the test.
func (c *Conn) Must(t interface {
	Helper()
	Fatalf(string, ...any)
}) *Response {
	t.Helper()
	r, err := c.Next()
	if err != nil {
		t.Fatalf("webtest: %v (output so far %q)", err, c.T.Value()[c.read:])
	}
	return r
}

// Rest returns the output not parsed yet.
func (c *Conn) Rest() []byte { return c.T.Value()[c.read:] }

// Get sends a GET for target on a new connection to a site serving res,
// and returns the response.
func Get(res web.Resource, target string) (*Response, error) {
	return Do(res, "GET", target, "")
}

// Do sends one request with an optional body on a new connection to a
// site serving res, and returns the response.
func Do(res web.Resource, method, target, body string) (*Response, error) {
	c := Connect(web.NewSite(res))
	raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: example.com\r\n", method, target)
	if body != "" {
		raw += fmt.Sprintf("Content-Length: %d\r\n", len(body))
	}
	c.Send(raw+"\r\n"+body, method)
	return c.Next()
}
