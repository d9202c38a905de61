package client

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/web"
)

// CookieAgent sends the cookies its Jar holds for each request's URL and
// stores those each response sets (Twisted's CookieAgent over a cookielib
// CookieJar). A *cookiejar.Jar from net/http/cookiejar is the usual Jar; it
// applies the domain, path, expiry and Secure rules. Wrap it in a
// RedirectAgent (RedirectAgent{Agent: &CookieAgent{...}}) so that each hop
// of a redirect sends and keeps cookies. The Jar is used from the loop
// only.
type CookieAgent struct {
	Agent Requester
	Jar   http.CookieJar
}

// Request adds a Cookie header from the jar, sends the request and stores
// the response's Set-Cookie fields in the jar before its Deferred fires.
func (a *CookieAgent) Request(method, rawURL string, headers *web.Header, body []byte) *deferred.Deferred {
	u, err := url.Parse(rawURL)
	if err != nil {
		return a.Agent.Request(method, rawURL, headers, body) // the agent reports it
	}
	var h web.Header
	if headers != nil {
		h = headers.Clone()
	}
	if cs := a.Jar.Cookies(u); len(cs) > 0 {
		parts := make([]string, 0, len(cs)+1)
		if old := h.Get("Cookie"); old != "" {
			parts = append(parts, old)
		}
		for _, c := range cs {
			parts = append(parts, c.String())
		}
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	return a.Agent.Request(method, rawURL, &h, body).AddCallback(func(v any) (any, error) {
		r := v.(*Response)
		var set []*http.Cookie
		for _, line := range r.Headers.Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(line); err == nil {
				set = append(set, c)
			}
		}
		if len(set) > 0 {
			a.Jar.SetCookies(u, set)
		}
		return r, nil
	})
}
