package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/proxy"
	"github.com/twistgo/twist/web/webtest"
)

func TestReverseProxy(t *testing.T) {
	big := bytes.Repeat([]byte("proxy"), 400000) // 2 MB
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/base/big":
			w.Write(big)
		default:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Backend", "yes")
			w.Header().Set("Connection", "X-Secret")
			w.Header().Set("X-Secret", "hop")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, "%s %s %s %s %s", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Client"), b)
		}
	}))
	defer backend.Close()
	root := &web.BaseResource{}
	root.PutChild("api", proxy.NewReverseProxyResource(strings.TrimPrefix(backend.URL, "http://"), "/base"))
	addr := webtest.Serve(t, web.NewSite(root))
	client := &http.Client{}
	defer client.CloseIdleConnections()

	req, _ := http.NewRequest("POST", "http://"+addr+"/api/x/y%20z?q=1", strings.NewReader("payload"))
	req.Header.Set("X-Client", "c")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || string(b) != "POST /base/x/y z q=1 c payload" || resp.Header.Get("X-Backend") != "yes" || resp.Header.Get("X-Secret") != "" {
		t.Fatalf("%d %q %v", resp.StatusCode, b, resp.Header)
	}
	resp, err = client.Get("http://" + addr + "/api/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, big) {
		t.Fatalf("big: %d bytes", len(b))
	}
}

func TestBackendDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	addr := webtest.Serve(t, web.NewSite(proxy.NewReverseProxyResource(dead, "")))
	resp, err := http.Get("http://" + addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestClientGoneCancelsBackend: a client that leaves before the backend
// answers closes the backend connection, which the backend sees.
func TestClientGoneCancelsBackend(t *testing.T) {
	gone := make(chan struct{})
	arrived := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(gone)
	}))
	defer backend.Close()
	addr := webtest.Serve(t, web.NewSite(proxy.NewReverseProxyResource(strings.TrimPrefix(backend.URL, "http://"), "")))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-arrived
	c.Close()
	<-gone // the test's time-out catches a backend never told
}
