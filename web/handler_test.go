package web_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

func TestHandlerResource(t *testing.T) {
	gone := make(chan error, 1)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	mux := http.NewServeMux()
	mux.HandleFunc("/app/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s %s %s", r.URL.Path, r.URL.Query().Get("q"), r.Header.Get("X-In"), b)
	})
	mux.HandleFunc("/app/big", func(w http.ResponseWriter, r *http.Request) {
		for p := big; len(p) > 0; p = p[64<<10:] {
			if _, err := w.Write(p[:64<<10]); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/app/wait", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		gone <- r.Context().Err()
	})
	mux.HandleFunc("/app/panic", func(w http.ResponseWriter, r *http.Request) { panic("on purpose") })
	mux.HandleFunc("/app/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	root := &web.BaseResource{}
	root.PutChild("app", web.NewHandlerResource(mux))
	addr := webtest.Serve(t, web.NewSite(root))
	client := &http.Client{}
	defer client.CloseIdleConnections()

	resp, err := client.Post("http://"+addr+"/app/echo?q=1", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(b) != "/app/echo 1  body" || resp.Header.Get("X-Method") != "POST" ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("echo: %d %q %v", resp.StatusCode, b, resp.Header)
	}

	resp, err = client.Get("http://" + addr + "/app/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, big) {
		t.Fatalf("big: %d bytes", len(b))
	}

	for path, status := range map[string]int{"/app/panic": 500, "/app/empty": 204} {
		resp, err = client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}

	// A client that goes away cancels the handler's context.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "GET /app/wait HTTP/1.1\r\nHost: a\r\n\r\n")
	c.Close()
	select {
	case err := <-gone:
		if err == nil {
			t.Fatal("context not cancelled")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context was not cancelled when the client left")
	}
}

func TestRedirectAndVirtualHosts(t *testing.T) {
	a := &web.BaseResource{}
	a.PutChild("page", web.RenderFunc(func(r *web.Request) ([]byte, error) { return []byte("a page"), nil }))
	v := &web.NameVirtualHost{}
	v.AddHost("A.example", a)
	v.AddHost("leaf.example", web.RenderFunc(func(r *web.Request) ([]byte, error) {
		return []byte("leaf " + strings.Join(r.Postpath, "/")), nil
	}))
	v.AddHost("moved.example", &web.Redirect{URL: "http://a.example/page"})
	cases := []struct {
		host, target string
		status       int
		body         string
	}{
		{"a.example", "/page", 200, "a page"},
		{"a.EXAMPLE:8080", "/page", 200, "a page"},
		{"leaf.example", "/x/y", 200, "leaf x/y"},
		{"moved.example", "/anything", 302, "click here"},
		{"other.example", "/page", 404, ""},
	}
	for _, tc := range cases {
		c := webtest.Connect(web.NewSite(v))
		c.Send("GET " + tc.target + " HTTP/1.1\r\nHost: " + tc.host + "\r\n\r\n")
		r := c.Must(t)
		if r.Status != tc.status || !strings.Contains(string(r.Body), tc.body) {
			t.Errorf("%s%s: %d %q", tc.host, tc.target, r.Status, r.Body)
		}
		if tc.status == 302 && r.Header.Get("Location") != "http://a.example/page" {
			t.Errorf("Location %q", r.Header.Get("Location"))
		}
	}
	v.Default = a
	if r, _ := webtest.Get(v, "/page"); r.Status != 200 {
		t.Errorf("default host: %d", r.Status)
	}
}
