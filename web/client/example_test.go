package client_test

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web/client"
)

// The agents compose as Twisted's: redirects are followed, each hop sends
// and keeps cookies, and gzip'd bodies arrive decoded.
func Example_agents() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "user", Value: "glyph"})
			http.Redirect(w, r, "/home", http.StatusSeeOther)
			return
		}
		c, _ := r.Cookie("user")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprintf(zw, "welcome, %s", c.Value)
		zw.Close()
	}))
	defer srv.Close()
	loop, _ := reactor.New()
	go loop.Run()
	defer loop.Stop()

	jar, _ := cookiejar.New(nil)
	base := client.NewAgent(loop)
	agent := &client.RedirectAgent{Agent: &client.CookieAgent{Jar: jar,
		Agent: &client.ContentDecoderAgent{Agent: base}}}
	body, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		return agent.Request("GET", srv.URL+"/login", nil, nil).AddCallback(func(v any) (any, error) {
			return client.ReadBody(v.(*client.Response)), nil
		}), nil
	})
	loop.CallFromThread(base.Pool.CloseCachedConnections)
	fmt.Printf("%s %v\n", body, err)
	// Output: welcome, glyph <nil>
}
