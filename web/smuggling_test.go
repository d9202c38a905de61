package web_test

import (
	"strings"
	"testing"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// echo answers with the method, the body's length and the body.
var echo = web.RenderFunc(func(r *web.Request) ([]byte, error) {
	return []byte(r.Method + " " + string(r.Content)), nil
})

// TestRejectsSmuggling sends each request that could be framed two ways,
// or is malformed where framing is decided, and expects the status and a
// closed connection, with nothing rendered.
func TestRejectsSmuggling(t *testing.T) {
	const h = "POST / HTTP/1.1\r\nHost: a\r\n"
	cases := []struct {
		name, raw string
		status    int
	}{
		{"CL and TE", h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE and CL", h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
		{"two CL differing", h + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"two CL same", h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"CL list", h + "Content-Length: 3, 3\r\n\r\nabc", 400},
		{"CL plus sign", h + "Content-Length: +3\r\n\r\nabc", 400},
		{"CL minus", h + "Content-Length: -1\r\n\r\n", 400},
		{"CL hex", h + "Content-Length: 0x3\r\n\r\nabc", 400},
		{"CL underscore", h + "Content-Length: 1_0\r\n\r\nabc", 400},
		{"CL inner space", h + "Content-Length: 1 0\r\n\r\nabc", 400},
		{"CL empty", h + "Content-Length: \r\n\r\n", 400},
		{"CL overflow", h + "Content-Length: 99999999999999999999\r\n\r\n", 400},
		{"space before colon", h + "Content-Length : 3\r\n\r\nabc", 400},
		{"tab before colon", h + "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400},
		{"obs-fold", h + "X-A: b\r\n c\r\n\r\n", 400},
		{"obs-fold TE", h + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE not chunked", h + "Transfer-Encoding: gzip\r\n\r\n", 501},
		{"TE chunked twice", h + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE two fields", h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE gzip, chunked", h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE xchunked", h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
		{"TE chunked with junk", h + "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"chunk size 0x", h + "Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk size sign", h + "Transfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk size negative", h + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk size underscore", h + "Transfer-Encoding: chunked\r\n\r\n1_0\r\n0123456789abcdef\r\n0\r\n\r\n", 400},
		{"chunk size leading space", h + "Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk size empty", h + "Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk size huge", h + "Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 400},
		{"chunk size junk after", h + "Transfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk ext with control", h + "Transfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk data too long", h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 400},
		{"chunk bare LF", h + "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400},
		{"chunk LF after data", h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", 400},
		{"trailer obs-fold", h + "Transfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", 400},
		{"trailer without colon", h + "Transfer-Encoding: chunked\r\n\r\n0\r\nA\r\n\r\n", 400},
		{"bare CR in value", h + "X-A: b\rc\r\n\r\n", 400},
		{"bare LF in head", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
		{"bare LF between fields", h + "X-A: b\nX-B: c\r\n\r\n", 400},
		{"NUL in value", h + "X-A: b\x00c\r\n\r\n", 400},
		{"empty field name", h + ": x\r\n\r\n", 400},
		{"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"method lower junk", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"target with space", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"version junk", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400},
		{"version lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"HTTP/0.9 line", "GET /\r\n\r\n", 400},
		{"body too large", h + "Content-Length: 10485761\r\n\r\n", 413},
		{"unknown expectation", h + "Content-Length: 1\r\nExpect: magic\r\n\r\nx", 417},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rendered := false
			res := web.RenderFunc(func(r *web.Request) ([]byte, error) {
				rendered = true
				return nil, nil
			})
			c := webtest.Connect(web.NewSite(res))
			c.Send(tc.raw)
			r := c.Must(t)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d", r.Status, tc.status)
			}
			if r.Header.Get("Connection") != "close" || !c.T.Disconnecting() {
				t.Errorf("connection not closed (Connection: %q)", r.Header.Get("Connection"))
			}
			if rendered {
				t.Error("the resource rendered a refused request")
			}
			if len(r.Body) > 200 {
				t.Errorf("error text of %d bytes", len(r.Body))
			}
		})
	}
}

// TestLimits checks the limits' statuses.
func TestLimits(t *testing.T) {
	cases := []struct {
		name   string
		lim    web.Limits
		raw    string
		status int
	}{
		{"request line", web.Limits{MaxRequestLine: 100}, "GET /" + strings.Repeat("a", 200) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"request line unterminated", web.Limits{MaxRequestLine: 100}, "GET /" + strings.Repeat("a", 200), 414},
		{"header bytes", web.Limits{MaxHeaderBytes: 1000}, "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 1000) + "\r\n\r\n", 431},
		{"header bytes unterminated", web.Limits{MaxHeaderBytes: 1000}, "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 1000), 431},
		{"header count", web.Limits{MaxHeaders: 3}, "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431},
		{"body by length", web.Limits{MaxBodySize: 10}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 413},
		{"body chunked", web.Limits{MaxBodySize: 10}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			site := web.NewSite(echo)
			site.Limits = tc.lim
			c := webtest.Connect(site)
			c.Send(tc.raw)
			if r := c.Must(t); r.Status != tc.status || !c.T.Disconnecting() {
				t.Errorf("status %d closed %v, want %d and closed", r.Status, c.T.Disconnecting(), tc.status)
			}
		})
	}
}

// TestHeaderArrivingByteByByte scans a slow head once, not once per byte,
// and still parses it.
func TestHeaderArrivingByteByByte(t *testing.T) {
	c := webtest.Connect(web.NewSite(echo))
	raw := "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + strings.Repeat("v", 3000) + "\r\n\r\n"
	for i := range len(raw) {
		c.Send(raw[i : i+1])
	}
	if r := c.Must(t); r.Status != 200 || string(r.Body) != "GET " {
		t.Fatalf("got %d %q", r.Status, r.Body)
	}
}
