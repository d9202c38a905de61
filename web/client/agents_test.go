package client_test

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internal/testcert"
	"github.com/twistgo/twist/web/client"
	"github.com/twistgo/twist/web/webtest"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestContentDecoderAgent(t *testing.T) {
	text := bytes.Repeat([]byte("twisted "), 20000)
	bomb := gzipped(make([]byte, 4<<20))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			http.Error(w, "no Accept-Encoding", 400)
			return
		}
		switch r.URL.Path {
		case "/gz":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipped(text))
		case "/bomb":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		case "/bad":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(append(gzipped(text)[:100], "garbage"...))
		case "/br":
			w.Header().Set("Content-Encoding", "br")
			w.Write([]byte("as is"))
		default:
			w.Write([]byte("plain"))
		}
	}))
	defer srv.Close()
	loop := webtest.RunLoop(t)
	a := &client.ContentDecoderAgent{Agent: client.NewAgent(loop), MaxDecodedSize: 1 << 20}
	cases := []struct {
		path, want string
		err        error
	}{
		{"/gz", "200 " + string(text), nil},
		{"/plain", "200 plain", nil},
		{"/br", "200 as is", nil},
		{"/bomb", "", client.ErrBodyTooLarge},
		{"/bad", "", client.ErrDecoding},
	}
	for _, tc := range cases {
		v, err := on(loop, fetch(a, "GET", srv.URL+tc.path, nil))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil || v != tc.want {
			t.Errorf("%s: %v %.40q", tc.path, err, v)
		}
	}
	// The decoded response has no Content-Encoding or Length.
	v, err := on(loop, func() *deferred.Deferred {
		return a.Request("HEAD", srv.URL+"/gz", nil, nil).AddCallback(func(v any) (any, error) {
			r := v.(*client.Response)
			return client.ReadBody(r).AddCallback(func(any) (any, error) {
				return r.Headers.Get("Content-Encoding") + "|" + r.Headers.Get("Content-Length"), nil
			}), nil
		})
	})
	if err != nil || v != "|" {
		t.Errorf("HEAD: %v %q", err, v)
	}
}

func TestCookieAgent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "scoped", Value: "x", Path: "/other"})
			http.Redirect(w, r, "/who", http.StatusFound)
		case "/logout":
			http.SetCookie(w, &http.Cookie{Name: "session", MaxAge: -1, Path: "/"})
		default:
			io.WriteString(w, r.Header.Get("Cookie"))
		}
	}))
	defer srv.Close()
	loop := webtest.RunLoop(t)
	jar, _ := cookiejar.New(nil)
	a := &client.RedirectAgent{Agent: &client.CookieAgent{Agent: client.NewAgent(loop), Jar: jar}}
	for _, step := range []struct{ path, want string }{
		{"/who", "200 "},
		{"/login", "200 session=s1"},
		{"/who", "200 session=s1"},
		{"/other/who", "200 scoped=x; session=s1"},
		{"/logout", "200 "},
		{"/who", "200 "},
	} {
		v, err := on(loop, fetch(a, "GET", srv.URL+step.path, nil))
		if err != nil || v != step.want {
			t.Fatalf("%s: %v %q, want %q", step.path, err, v, step.want)
		}
	}
}

func TestProxyAgent(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin "+r.Method+" "+r.URL.String())
	}))
	defer origin.Close()
	// A forward proxy: it takes absolute-form requests only.
	seen := make(chan string, 10)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.RequestURI
		if r.Method == "CONNECT" {
			tunnel(w, r)
			return
		}
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", 400)
			return
		}
		out, _ := http.NewRequest(r.Method, r.URL.String(), r.Body)
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	loop := webtest.RunLoop(t)
	a := client.NewProxyAgent(loop, strings.TrimPrefix(proxy.URL, "http://"))
	for range 2 {
		v, err := on(loop, fetch(a, "GET", origin.URL+"/a?b=c#frag", nil))
		if err != nil || v != "200 origin GET /a?b=c" {
			t.Fatalf("%v %q", err, v)
		}
	}
	if len(seen) != 2 || <-seen != origin.URL+"/a?b=c" {
		t.Fatal("the proxy did not see the requests in absolute form")
	}
	<-seen
	// https goes through a CONNECT tunnel, TLS end to end.
	cert, roots := testcert.New("127.0.0.1")
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure origin "+r.URL.Path)
	}))
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	secure.StartTLS()
	defer secure.Close()
	a.TLS = &tls.Config{RootCAs: roots}
	for range 2 {
		v, err := on(loop, fetch(a, "GET", secure.URL+"/s", nil))
		if err != nil || v != "200 secure origin /s" {
			t.Fatalf("https via the proxy: %v %q", err, v)
		}
	}
	if got := <-seen; got != strings.TrimPrefix(secure.URL, "https://") {
		t.Fatalf("the proxy saw %q, want a CONNECT to the origin", got)
	}
	if len(seen) != 0 {
		t.Fatal("the tunnel was not reused")
	}
	// A tunnel to a port the proxy refuses.
	refused := client.NewProxyAgent(loop, strings.TrimPrefix(proxy.URL, "http://"))
	if _, err := on(loop, fetch(refused, "GET", "https://127.0.0.1:1/", nil)); !errors.Is(err, client.ErrProxyConnect) {
		t.Fatalf("refused tunnel: %v", err)
	}
	loop.CallFromThread(a.Pool.CloseCachedConnections)
}

// tunnel is a proxy's CONNECT: it joins the client to r.Host.
func tunnel(w http.ResponseWriter, r *http.Request) {
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, "cannot reach the host", 502)
		return
	}
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
	rw.Flush()
	go func() {
		io.Copy(up, c)
		up.Close()
	}()
	io.Copy(c, up)
	c.Close()
}

func TestHTTPS(t *testing.T) {
	cert, roots := testcert.New("127.0.0.1")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure "+r.Proto)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	loop := webtest.RunLoop(t)
	a := client.NewAgent(loop)
	a.TLS = &tls.Config{RootCAs: roots}
	for range 2 {
		v, err := on(loop, fetch(a, "GET", srv.URL+"/", nil))
		if err != nil || v != "200 secure HTTP/1.1" {
			t.Fatalf("%v %q", err, v)
		}
	}
	loop.CallFromThread(a.Pool.CloseCachedConnections)
	// The system's roots do not know the test's root.
	sys := &client.Agent{Loop: loop}
	if _, err := on(loop, fetch(sys, "GET", srv.URL+"/", nil)); !errors.Is(err, client.ErrResponseFailed) {
		t.Fatalf("system roots: %v", err)
	}
}
