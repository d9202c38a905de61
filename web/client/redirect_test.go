package client_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/twistgo/twist/web/client"
	"github.com/twistgo/twist/web/webtest"
)

func TestRedirectAgent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "b?x=1", http.StatusFound)
		case "/b":
			http.Redirect(w, r, "/c", http.StatusMovedPermanently)
		case "/post":
			http.Redirect(w, r, "/c", http.StatusSeeOther)
		case "/temp":
			http.Redirect(w, r, "/c", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.Path, r.URL.RawQuery, b)
		}
	}))
	defer srv.Close()
	loop := webtest.RunLoop(t)
	a := &client.RedirectAgent{Agent: client.NewAgent(loop), MaxRedirects: 5}
	cases := []struct{ method, path, want string }{
		{"GET", "/a", "200 GET /c  "},     // via /b?x=1, whose redirect drops the query
		{"POST", "/post", "200 GET /c  "}, // 303: a GET without the body
		{"POST", "/temp", "307 "},         // a POST's 307 is not followed
	}
	for _, tc := range cases {
		var body []byte
		if tc.method == "POST" {
			body = []byte("b")
		}
		v, err := on(loop, fetch(a, tc.method, srv.URL+tc.path, body))
		if err != nil || v != tc.want {
			t.Errorf("%s %s: %v %q, want %q", tc.method, tc.path, err, v, tc.want)
		}
	}
	if _, err := on(loop, fetch(a, "GET", srv.URL+"/loop", nil)); !errors.Is(err, client.ErrInfiniteRedirection) {
		t.Fatalf("loop: %v", err)
	}
}
