// Package proxy forwards requests to another HTTP server (Twisted's
// twisted.web.proxy): ReverseProxyResource serves a tree of a backend's
// paths through web/client, streaming each response back with flow
// control.
package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/client"
)

// ReverseProxyResource forwards every request below it to the server at
// Host, under Path (Twisted's ReverseProxyResource): /a/b below it goes to
// Path + "/a/b", with the query. The response comes back as the backend
// sent it, less the hop-by-hop fields; a backend that cannot be reached
// is 502. Connections to the backend are kept in a pool per loop.
type ReverseProxyResource struct {
	// Host is the backend's "host:port".
	Host string
	// Path is the prefix of the backend's paths, "" for its root.
	Path string

	agents *agents
}

// NewReverseProxyResource returns a resource forwarding to host under path.
func NewReverseProxyResource(host, path string) *ReverseProxyResource {
	return &ReverseProxyResource{Host: host, Path: path, agents: &agents{m: map[*reactor.Reactor]*client.Agent{}}}
}

// agents are the backend clients, one per loop the site serves on.
type agents struct {
	mu sync.Mutex
	m  map[*reactor.Reactor]*client.Agent
}

func (a *agents) on(loop *reactor.Reactor) *client.Agent {
	a.mu.Lock()
	defer a.mu.Unlock()
	ag := a.m[loop]
	if ag == nil {
		ag = client.NewAgent(loop)
		a.m[loop] = ag
	}
	return ag
}

// GetChild returns the proxy for the path one segment further down.
func (p *ReverseProxyResource) GetChild(name string, req *web.Request) web.Resource {
	return &ReverseProxyResource{Host: p.Host, Path: p.Path + "/" + url.PathEscape(name), agents: p.agents}
}

// PutChild panics: the backend decides what is below.
func (p *ReverseProxyResource) PutChild(name string, child web.Resource) {
	panic("proxy: PutChild on a ReverseProxyResource")
}

// IsLeaf returns false: every segment becomes a child.
func (p *ReverseProxyResource) IsLeaf() bool { return false }

// hopByHop are the fields that describe one connection, not the message
// (RFC 9110 §7.6.1), dropped both ways.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Expect"}

// forward copies from's fields to to, less the hop-by-hop ones and those
// the Connection field names.
func forward(to, from *web.Header) {
	drop := map[string]bool{}
	for _, v := range from.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	for _, h := range hopByHop {
		drop[http.CanonicalHeaderKey(h)] = true
	}
	for k, v := range from.All() {
		if !drop[http.CanonicalHeaderKey(k)] {
			to.Add(k, v)
		}
	}
}

var errNoLoop = errors.New("proxy: the request's connection is not on a loop")

// Render forwards the request and relays the response.
func (p *ReverseProxyResource) Render(req *web.Request) ([]byte, error) {
	loop := req.Loop()
	if loop == nil {
		return nil, errNoLoop
	}
	target := "http://" + p.Host + p.Path
	if p.Path == "" {
		target += "/"
	}
	if i := strings.IndexByte(req.URI, '?'); i >= 0 {
		target += req.URI[i:]
	}
	var h web.Header
	forward(&h, &req.RequestHeaders)
	var body []byte
	if len(req.Content) > 0 {
		body = req.Content
	}
	d := p.agents.on(loop).Request(req.Method, target, &h, body)
	var resp *client.Response
	req.NotifyFinish().AddErrback(func(f *deferred.Failure) (any, error) {
		// The client went away: stop the backend's response, or its request.
		if resp != nil {
			resp.Abort()
		} else {
			d.Cancel()
		}
		return nil, nil
	})
	d.AddCallbacks(func(v any) (any, error) {
		resp = v.(*client.Response)
		if req.Finished() {
			resp.Abort()
			return nil, nil
		}
		req.SetResponseCode(resp.Code, resp.Phrase)
		req.ResponseHeaders.Reset()
		forward(&req.ResponseHeaders, &resp.Headers)
		if resp.Length >= 0 && req.Method != "HEAD" {
			req.SetHeader("Content-Length", resp.Headers.Get("Content-Length"))
		} else if req.Method == "HEAD" && resp.Headers.Has("Content-Length") {
			req.SetHeader("Content-Length", resp.Headers.Get("Content-Length"))
		}
		r := &relay{req: req, resp: resp}
		r.registered = req.RegisterProducer(resp, true) == nil
		resp.DeliverBody(r)
		return nil, nil
	}, func(f *deferred.Failure) (any, error) {
		if !req.Finished() {
			b := web.ErrorPage(req, http.StatusBadGateway, "Bad Gateway", "The backend could not be reached.")
			_ = req.Write(b)
			req.Finish()
		}
		return nil, nil
	})
	return nil, web.NotDoneYet
}

// relay writes a backend's body to the client's response.
type relay struct {
	req        *web.Request
	resp       *client.Response
	registered bool
}

func (r *relay) DataReceived(b []byte) { _ = r.req.Write(b) }

func (r *relay) ConnectionLost(reason error) {
	if r.registered {
		r.req.UnregisterProducer()
	}
	switch {
	case errors.Is(reason, client.ErrResponseDone), errors.Is(reason, client.ErrPotentialDataLoss):
		r.req.Finish()
	default:
		r.req.Abort(reason)
	}
}
