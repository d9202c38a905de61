package web_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

type hello struct{ web.BaseResource }

func (*hello) RenderGET(r *web.Request) ([]byte, error) { return []byte("hello"), nil }

func (*hello) RenderPOST(r *web.Request) ([]byte, error) {
	return []byte("posted " + r.Args().Get("x")), nil
}

func tree() web.Resource {
	root := &web.BaseResource{}
	root.PutChild("hello", &hello{})
	sub := &web.BaseResource{}
	sub.PutChild("leaf", web.RenderFunc(func(r *web.Request) ([]byte, error) {
		return []byte(strings.Join(r.Prepath, ",") + "|" + strings.Join(r.Postpath, ",")), nil
	}))
	root.PutChild("sub", sub)
	root.PutChild("fail", web.RenderFunc(func(r *web.Request) ([]byte, error) { return nil, errors.New("boom") }))
	root.PutChild("panic", web.RenderFunc(func(r *web.Request) ([]byte, error) { panic("boom") }))
	return root
}

func TestTraversal(t *testing.T) {
	cases := []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/hello", 200, "hello"},
		{"GET", "/sub/leaf/a/b%2Fc", 200, "sub,leaf|a,b/c"},
		{"GET", "http://example.com/sub/leaf/x?q=1", 200, "sub,leaf|x"},
		{"GET", "/nothing", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/sub", 405, ""},
		{"DELETE", "/hello", 405, ""},
		{"GET", "/fail", 500, ""},
		{"GET", "/panic", 500, ""},
		{"HEAD", "/hello", 200, ""},
	}
	for _, tc := range cases {
		r, err := webtest.Do(tree(), tc.method, tc.target, "")
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.target, err)
		}
		if r.Status != tc.status || tc.body != "" && string(r.Body) != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, r.Status, r.Body, tc.status, tc.body)
		}
	}
	r, _ := webtest.Do(tree(), "DELETE", "/hello", "")
	if got := r.Header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow %q", got)
	}
	r, _ = webtest.Do(tree(), "HEAD", "/hello", "")
	if r.Header.Get("Content-Length") != "5" || len(r.Body) != 0 {
		t.Errorf("HEAD: Content-Length %q body %q", r.Header.Get("Content-Length"), r.Body)
	}
}

func TestFormArgs(t *testing.T) {
	c := webtest.Connect(web.NewSite(tree()))
	body := "x=from+form"
	c.Send("POST /hello?y=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\n" + body)
	if r := c.Must(t); string(r.Body) != "posted from form" {
		t.Fatalf("body %q", r.Body)
	}
	c.Send("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 60\r\n\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nmp\r\n--XX--\r\n")
	if r := c.Must(t); string(r.Body) != "posted mp" {
		t.Fatalf("body %q", r.Body)
	}
}

func TestKeepAliveAndPipelining(t *testing.T) {
	c := webtest.Connect(web.NewSite(tree()))
	// Three requests in one read, the last split across two.
	c.Send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nHEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /sub/le", "GET", "HEAD", "GET")
	c.Send("af/z HTTP/1.1\r\nHost: a\r\n\r\n")
	for i, want := range []string{"hello", "", "sub,leaf|z"} {
		r := c.Must(t)
		if r.Status != 200 || string(r.Body) != want {
			t.Errorf("response %d: %d %q", i, r.Status, r.Body)
		}
	}
	if c.T.Disconnecting() {
		t.Error("persistent connection closed")
	}
}

func TestConnectionClose(t *testing.T) {
	cases := []struct {
		name, raw string
		closed    bool
		conn      string
	}{
		{"1.1 default", "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", false, ""},
		{"1.1 close", "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true, "close"},
		{"1.0 default", "GET /hello HTTP/1.0\r\n\r\n", true, "close"},
		{"1.0 keep-alive", "GET /hello HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false, "keep-alive"},
	}
	for _, tc := range cases {
		c := webtest.Connect(web.NewSite(tree()))
		c.Send(tc.raw)
		r := c.Must(t)
		if string(r.Body) != "hello" || c.T.Disconnecting() != tc.closed || r.Header.Get("Connection") != tc.conn {
			t.Errorf("%s: body %q closed %v Connection %q", tc.name, r.Body, c.T.Disconnecting(), r.Header.Get("Connection"))
		}
	}
}

func TestChunkedRequestBody(t *testing.T) {
	c := webtest.Connect(web.NewSite(echo))
	raw := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n"
	// Byte by byte: the decoder must cope with any split.
	for i := range len(raw) {
		c.Send(raw[i : i+1])
	}
	if r := c.Must(t); string(r.Body) != "POST abc0123456789abcdef" {
		t.Fatalf("body %q", r.Body)
	}
}

func TestExpectContinue(t *testing.T) {
	c := webtest.Connect(web.NewSite(echo))
	c.Send("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
	if r := c.Must(t); r.Status != 100 {
		t.Fatalf("interim status %d", r.Status)
	}
	if _, err := c.Next(); err != webtest.ErrIncomplete {
		t.Fatalf("answered before the body: %v", err)
	}
	c.Send("hi")
	if r := c.Must(t); r.Status != 200 || string(r.Body) != "PUT hi" {
		t.Fatalf("%d %q", r.Status, r.Body)
	}
}

// async renders later: the test holds the request.
type async struct {
	reqs []*web.Request
}

func (a *async) GetChild(string, *web.Request) web.Resource { return nil }
func (a *async) PutChild(string, web.Resource)              {}
func (a *async) IsLeaf() bool                               { return true }
func (a *async) Render(r *web.Request) ([]byte, error) {
	a.reqs = append(a.reqs, r)
	return nil, web.NotDoneYet
}

func TestNotDoneYetChunkedAndPipelined(t *testing.T) {
	a := &async{}
	c := webtest.Connect(web.NewSite(a))
	c.Send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(a.reqs) != 1 {
		t.Fatalf("%d requests rendered; the second must wait for the first", len(a.reqs))
	}
	r1 := a.reqs[0]
	done := r1.NotifyFinish()
	_ = r1.Write([]byte("part one,"))
	_ = r1.Write([]byte("part two"))
	twisttest.AssertNoResult(t, done)
	r1.Finish()
	twisttest.SuccessResultOf(t, done)
	resp := c.Must(t)
	if !resp.Chunked || string(resp.Body) != "part one,part two" {
		t.Fatalf("first: chunked %v body %q", resp.Chunked, resp.Body)
	}
	if len(a.reqs) != 2 || a.reqs[1].URI != "/2" {
		t.Fatalf("second request not rendered after the first finished")
	}
	a.reqs[1].SetHeader("Content-Length", "3")
	_ = a.reqs[1].Write([]byte("abcdef")) // past the declared length: dropped
	a.reqs[1].Finish()
	if resp := c.Must(t); resp.Chunked || string(resp.Body) != "abc" {
		t.Fatalf("second: chunked %v body %q", resp.Chunked, resp.Body)
	}
	if err := a.reqs[1].Write([]byte("x")); !errors.Is(err, web.ErrRequestFinished) {
		t.Fatalf("write after finish: %v", err)
	}
}

func TestHTTP10AsyncIsCloseDelimited(t *testing.T) {
	a := &async{}
	c := webtest.Connect(web.NewSite(a))
	c.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	_ = a.reqs[0].Write([]byte("streamed"))
	a.reqs[0].Finish()
	r := c.Must(t)
	if r.Chunked || string(r.Body) != "streamed" || !c.T.Disconnecting() {
		t.Fatalf("chunked %v body %q closed %v", r.Chunked, r.Body, c.T.Disconnecting())
	}
}

func TestNotifyFinishFailsWhenClientGoes(t *testing.T) {
	a := &async{}
	c := webtest.Connect(web.NewSite(a))
	c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	d := a.reqs[0].NotifyFinish()
	c.Lose()
	twisttest.FailureResultOf(t, d, internet.ErrConnectionDone)
	if err := a.reqs[0].Write([]byte("late")); !errors.Is(err, web.ErrRequestFinished) {
		t.Fatalf("write after loss: %v", err)
	}
	a.reqs[0].Finish() // does nothing
}

func TestPipelineIsBounded(t *testing.T) {
	a := &async{}
	site := web.NewSite(a)
	site.Limits.MaxPipelineBytes = 100
	c := webtest.Connect(site)
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	c.Send(req)
	c.Send(strings.Repeat(req, 2))
	if c.T.ProducerState() != twisttest.Producing {
		t.Fatalf("paused below the limit: %v", c.T.ProducerState())
	}
	c.Send(strings.Repeat(req, 3))
	if c.T.ProducerState() != twisttest.Paused {
		t.Fatalf("reading not paused past the limit: %v", c.T.ProducerState())
	}
	a.reqs[0].Finish()
	if c.T.ProducerState() != twisttest.Producing {
		t.Fatalf("reading not resumed: %v", c.T.ProducerState())
	}
	if len(a.reqs) != 2 {
		t.Fatalf("%d rendered", len(a.reqs))
	}
}

func TestTimeouts(t *testing.T) {
	site := web.NewSite(tree())
	site.Limits.HeaderTimeout = 5 * time.Second
	site.Limits.IdleTimeout = 60 * time.Second

	// A head that trickles in: 408 at the header time-out, however it trickles.
	c := webtest.Connect(site)
	c.Send("GET / HTTP/1.1\r\n")
	c.Clock.Advance(3 * time.Second)
	c.Send("Host: a\r\n")
	c.Clock.Advance(2 * time.Second)
	if r := c.Must(t); r.Status != 408 || !c.T.Disconnecting() {
		t.Fatalf("slow head: %d closed %v", r.Status, c.T.Disconnecting())
	}

	// An idle persistent connection closes quietly at the idle time-out.
	c = webtest.Connect(site)
	c.Send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	c.Clock.Advance(59 * time.Second)
	if c.T.Disconnecting() {
		t.Fatal("closed before the idle time-out")
	}
	c.Send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	c.Clock.Advance(59 * time.Second)
	if c.T.Disconnecting() {
		t.Fatal("a request did not restart the idle time-out")
	}
	c.Clock.Advance(time.Second)
	if !c.T.Disconnecting() {
		t.Fatal("idle connection not closed")
	}

	// No time-out while the resource is answering.
	a := &async{}
	site = web.NewSite(a)
	c = webtest.Connect(site)
	c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c.Clock.Advance(time.Hour)
	if c.T.Disconnecting() {
		t.Fatal("timed out while answering")
	}
	a.reqs[0].Finish()
	c.Clock.Advance(web.DefaultIdleTimeout)
	if !c.T.Disconnecting() {
		t.Fatal("idle time-out not restarted after the response")
	}
}

func TestCookiesRedirectAndCaching(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := web.RenderFunc(func(r *web.Request) ([]byte, error) {
		switch r.Path {
		case "/cookie":
			v, _ := r.Cookie("a")
			r.AddCookie(&http.Cookie{Name: "b", Value: v + "2"})
			return []byte(v), nil
		case "/redirect":
			r.Redirect("/elsewhere")
			return nil, nil
		case "/cached":
			if r.SetLastModified(mod) || r.SetETag(`"v1"`) {
				return nil, nil
			}
			return []byte("fresh"), nil
		}
		return nil, nil
	})
	c := webtest.Connect(web.NewSite(res))
	c.Send("GET /cookie HTTP/1.1\r\nHost: a\r\nCookie: x=1; a=v\r\n\r\n")
	if r := c.Must(t); string(r.Body) != "v" || r.Header.Get("Set-Cookie") != "b=v2" {
		t.Errorf("cookie: %q %q", r.Body, r.Header.Get("Set-Cookie"))
	}
	c.Send("GET /redirect HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Must(t); r.Status != 302 || r.Header.Get("Location") != "/elsewhere" {
		t.Errorf("redirect: %d %q", r.Status, r.Header.Get("Location"))
	}
	for _, tc := range []struct {
		cond   string
		status int
	}{
		{"", 200},
		{"If-Modified-Since: " + mod.Format(http.TimeFormat) + "\r\n", 304},
		{"If-Modified-Since: " + mod.Add(-time.Hour).Format(http.TimeFormat) + "\r\n", 200},
		{"If-None-Match: \"v1\"\r\n", 304},
		{"If-None-Match: W/\"v0\", \"v1\"\r\n", 304},
		{"If-None-Match: \"v2\"\r\n", 200},
	} {
		c.Send("GET /cached HTTP/1.1\r\nHost: a\r\n" + tc.cond + "\r\n")
		r := c.Must(t)
		if r.Status != tc.status || tc.status == 304 && (len(r.Body) != 0 || r.Header.Has("Content-Length")) {
			t.Errorf("%q: %d %q", tc.cond, r.Status, r.Body)
		}
	}
}

func TestAccessLog(t *testing.T) {
	var log bytes.Buffer
	site := web.NewSite(tree())
	site.AccessLog = &log
	clk := task.NewClock()
	clk.Advance(time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC).Sub(clk.Now()))
	site.Clock = clk
	c := webtest.Connect(site)
	c.Send("GET /hello HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\r\nReferer: http://r/\r\n\r\n")
	c.Send("GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n")
	want := `"192.168.1.1" - - [03/Dec/2026:07:00:00 +0000] "GET /hello HTTP/1.1" 200 5 "http://r/" "ua"` + "\n" +
		`"192.168.1.1" - - [03/Dec/2026:07:00:00 +0000] "GET /nothing HTTP/1.1" 404 146 "-" "-"` + "\n"
	if got := log.String(); got != want {
		t.Fatalf("log %q\nwant %q", got, want)
	}
}

func TestAccessLogEscapes(t *testing.T) {
	var log bytes.Buffer
	site := web.NewSite(tree())
	site.AccessLog = &log
	c := webtest.Connect(site)
	c.Send("GET /hello HTTP/1.1\r\nHost: a\r\nUser-Agent: a\"b\\c\x80\r\n\r\n")
	if !strings.HasSuffix(log.String(), `"a\"b\\c\x80"`+"\n") {
		t.Fatalf("log %q", log.String())
	}
}

func TestDeferredRendering(t *testing.T) {
	var later *deferred.Deferred
	res := web.RenderFunc(func(r *web.Request) ([]byte, error) {
		later = deferred.New()
		later.AddCallback(func(v any) (any, error) {
			_ = r.Write([]byte(v.(string)))
			r.Finish()
			return nil, nil
		})
		return nil, web.NotDoneYet
	})
	c := webtest.Connect(web.NewSite(res))
	c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	later.Callback("later")
	if r := c.Must(t); string(r.Body) != "later" {
		t.Fatalf("body %q", r.Body)
	}
}
