package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/client"
	"github.com/twistgo/twist/web/webtest"
)

// on runs f on loop and waits for its Deferred.
func on(loop *reactor.Reactor, f func() *deferred.Deferred) (any, error) {
	return threads.BlockingCallFromThread(loop, func() (any, error) { return f(), nil })
}

// fetch makes a request and reads the body.
func fetch(a client.Requester, method, url string, body []byte) func() *deferred.Deferred {
	return func() *deferred.Deferred {
		return a.Request(method, url, nil, body).AddCallback(func(v any) (any, error) {
			r := v.(*client.Response)
			return client.ReadBody(r).AddCallback(func(b any) (any, error) {
				return fmt.Sprintf("%d %s", r.Code, b), nil
			}), nil
		})
	}
}

func TestAgentAgainstNetHTTP(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part1 "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part2"))
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RawQuery, b)
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), 1<<20))
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	loop := webtest.RunLoop(t)
	a := client.NewAgent(loop)
	cases := []struct{ method, path, body, want string }{
		{"GET", "/chunked", "", "200 part1 part2"},
		{"POST", "/echo?q=1", "data", "200 POST q=1 data"},
		{"GET", "/echo", "", "200 GET  "},
		{"HEAD", "/echo", "", "200 "},
		{"GET", "/missing", "", "404 404 page not found\n"},
	}
	for _, tc := range cases {
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		v, err := on(loop, fetch(a, tc.method, srv.URL+tc.path, body))
		if err != nil || v != tc.want {
			t.Fatalf("%s %s: %v %q, want %q", tc.method, tc.path, err, v, tc.want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for %d requests: the pool did not reuse", n, len(cases))
	}
	// ReadBody's limit.
	small := &client.Agent{Loop: loop, Limits: client.Limits{MaxBodySize: 1000}}
	if _, err := on(loop, fetch(small, "GET", srv.URL+"/big", nil)); !errors.Is(err, client.ErrBodyTooLarge) {
		t.Fatalf("limit: %v", err)
	}
	// GetPage: the body, or an *Error.
	v, err := on(loop, func() *deferred.Deferred { return client.GetPage(loop, srv.URL+"/chunked") })
	if err != nil || string(v.([]byte)) != "part1 part2" {
		t.Fatalf("GetPage: %v %q", err, v)
	}
	_, err = on(loop, func() *deferred.Deferred { return client.GetPage(loop, srv.URL+"/missing") })
	var e *client.Error
	if !errors.As(err, &e) || e.Code != 404 {
		t.Fatalf("GetPage 404: %v", err)
	}
	loop.CallFromThread(a.Pool.CloseCachedConnections)
}

func TestAgentAgainstOurServer(t *testing.T) {
	root := &web.BaseResource{}
	root.PutChild("echo", web.RenderFunc(func(r *web.Request) ([]byte, error) {
		return append([]byte(r.Method+" "), r.Content...), nil
	}))
	addr := webtest.Serve(t, web.NewSite(root))
	loop := webtest.RunLoop(t)
	a := client.NewAgent(loop)
	for i := range 3 {
		v, err := on(loop, fetch(a, "PUT", "http://"+addr+"/echo", []byte(fmt.Sprint(i))))
		if want := fmt.Sprintf("200 PUT %d", i); err != nil || v != want {
			t.Fatalf("%v %q, want %q", err, v, want)
		}
	}
	v, err := on(loop, fetch(a, "GET", "http://"+addr+"/nothing", nil))
	if err != nil || !strings.HasPrefix(v.(string), "404 ") {
		t.Fatalf("%v %q", err, v)
	}
	loop.CallFromThread(a.Pool.CloseCachedConnections)
}

func TestAgentFailures(t *testing.T) {
	loop := webtest.RunLoop(t)
	a := &client.Agent{Loop: loop, Limits: client.Limits{ConnectTimeout: 5 * time.Second}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := on(loop, fetch(a, "GET", "http://"+addr+"/", nil)); !errors.Is(err, client.ErrResponseFailed) {
		t.Fatalf("refused: %v", err)
	}
	if _, err := on(loop, fetch(a, "GET", "ftp://x/", nil)); !errors.Is(err, client.ErrUnsupportedScheme) {
		t.Fatalf("scheme: %v", err)
	}
	// A server that sends a smuggling-shaped response is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1024)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	}()
	if _, err := on(loop, fetch(a, "GET", "http://"+ln.Addr().String()+"/", nil)); !errors.Is(err, client.ErrResponseFailed) {
		t.Fatalf("bad framing: %v", err)
	}
}
