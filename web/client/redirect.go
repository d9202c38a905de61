package client

import (
	"errors"
	"net/url"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/web"
)

// A Requester sends requests: *Agent, and the agents that wrap one.
type Requester interface {
	Request(method, url string, headers *web.Header, body []byte) *deferred.Deferred
}

var _ Requester = (*Agent)(nil)

// ErrInfiniteRedirection is RedirectAgent's failure past MaxRedirects
// (Twisted's InfiniteRedirection).
var ErrInfiniteRedirection = errors.New("client: too many redirects")

// DefaultMaxRedirects is RedirectAgent's default limit (Twisted's 20).
const DefaultMaxRedirects = 20

// RedirectAgent follows redirects (Twisted's RedirectAgent): 303 with a
// GET, and 301, 302, 307 and 308 for GET and HEAD; any other method's
// 301/302/307/308 is returned as it is. The Location is resolved against
// the URL that answered. A redirect's body is read (within the agent's
// limits) and dropped, so that its connection can be reused.
type RedirectAgent struct {
	Agent Requester
	// MaxRedirects bounds the redirects followed for one request; zero
	// means DefaultMaxRedirects.
	MaxRedirects int
}

// Request sends the request and follows its redirects; the Deferred fires
// with the final *Response.
func (a *RedirectAgent) Request(method, rawURL string, headers *web.Header, body []byte) *deferred.Deferred {
	max := a.MaxRedirects
	if max <= 0 {
		max = DefaultMaxRedirects
	}
	return a.follow(method, rawURL, headers, body, max)
}

func (a *RedirectAgent) follow(method, rawURL string, headers *web.Header, body []byte, left int) *deferred.Deferred {
	return a.Agent.Request(method, rawURL, headers, body).AddCallback(func(v any) (any, error) {
		r := v.(*Response)
		next, nextMethod, ok := redirectTarget(r, method, rawURL)
		if !ok {
			return r, nil
		}
		if left == 0 {
			r.Abort()
			return nil, ErrInfiniteRedirection
		}
		nextBody := body
		if nextMethod != method {
			nextBody = nil
		}
		return ReadBody(r).AddCallback(func(any) (any, error) {
			return a.follow(nextMethod, next, headers, nextBody, left-1), nil
		}), nil
	})
}

// redirectTarget returns where r sends a request of method, if it is a
// redirect to follow.
func redirectTarget(r *Response, method, from string) (string, string, bool) {
	switch r.Code {
	case 303:
		if method != "HEAD" {
			method = "GET"
		}
	case 301, 302, 307, 308:
		if method != "GET" && method != "HEAD" {
			return "", "", false
		}
	default:
		return "", "", false
	}
	loc := r.Headers.Get("Location")
	base, err1 := url.Parse(from)
	ref, err2 := url.Parse(loc)
	if loc == "" || err1 != nil || err2 != nil {
		return "", "", false
	}
	return base.ResolveReference(ref).String(), method, true
}
