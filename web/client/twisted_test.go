package client_test

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/client"
	"github.com/twistgo/twist/web/webtest"
)

// python is Debian's interpreter, which has python3-twisted (.ci/run
// installs it); the python3 on PATH may be another.
const python = "/usr/bin/python3"

// twistedSite serves a small tree with Python Twisted's own twisted.web on
// a loopback port, prints the port, and stops when its standard input
// closes.
const twistedSite = `
import sys
from twisted.internet import reactor, stdio
from twisted.internet.protocol import Protocol
from twisted.web import resource, server, util

class Hello(resource.Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"hello from twisted"

class Echo(resource.Resource):
    isLeaf = True
    def render_POST(self, request):
        return b"POST " + request.content.read()

class Chunked(resource.Resource):
    isLeaf = True
    def render_GET(self, request):
        request.write(b"part1 ")
        def rest():
            request.write(b"part2")
            request.finish()
        reactor.callLater(0.01, rest)
        return server.NOT_DONE_YET

root = resource.Resource()
root.putChild(b"hello", Hello())
root.putChild(b"echo", Echo())
root.putChild(b"chunked", Chunked())
root.putChild(b"gzip", resource.EncodingResourceWrapper(Hello(), [server.GzipEncoderFactory()]))
root.putChild(b"redirect", util.Redirect(b"/hello"))
port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")

class StopOnEOF(Protocol):
    def connectionLost(self, reason):
        reactor.stop()

stdio.StandardIO(StopOnEOF())
print(port.getHost().port, flush=True)
reactor.run()
`

// TestAgentAgainstTwistedSite drives Python Twisted's twisted.web server
// with our Agent and its wrappers: keep-alive, a POST body, a chunked
// answer written in two parts, gzip from Twisted's EncodingResourceWrapper
// and a redirect from twisted.web.util.Redirect.
func TestAgentAgainstTwistedSite(t *testing.T) {
	if err := exec.Command(python, "-c", "import twisted.web.server").Run(); err != nil {
		t.Skipf("%s cannot import twisted.web.server (Debian package python3-twisted; .ci/run installs it): %v", python, err)
	}
	cmd := exec.Command(python, "-W", "ignore", "-c", twistedSite)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("twisted site: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("twisted site printed no port: %v", err)
	}
	base := "http://127.0.0.1:" + strings.TrimSpace(line)

	loop := webtest.RunLoop(t)
	a := client.NewAgent(loop)
	full := &client.RedirectAgent{Agent: &client.ContentDecoderAgent{Agent: a}}
	for _, tc := range []struct {
		agent  client.Requester
		method string
		path   string
		body   string
		want   string
	}{
		{a, "GET", "/hello", "", "200 hello from twisted"},
		{a, "POST", "/echo", "from twist", "200 POST from twist"},
		{a, "GET", "/chunked", "", "200 part1 part2"},
		{a, "GET", "/hello", "", "200 hello from twisted"},
		{full, "GET", "/gzip", "", "200 hello from twisted"},
		{full, "GET", "/redirect", "", "200 hello from twisted"},
		{a, "GET", "/redirect", "", "302"},
		{a, "GET", "/nothing", "", "404"},
	} {
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		v, err := on(loop, fetch(tc.agent, tc.method, base+tc.path, body))
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		// A want of a status code alone leaves Twisted's page text unchecked.
		if got := v.(string); got != tc.want && !(len(tc.want) == 3 && strings.HasPrefix(got, tc.want+" ")) {
			t.Errorf("%s %s: got %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	// The gzip row above proves decoding only if Twisted really encoded.
	v, err := on(loop, func() *deferred.Deferred {
		var h web.Header
		h.Set("Accept-Encoding", "gzip")
		return a.Request("GET", base+"/gzip", &h, nil).AddCallback(func(v any) (any, error) {
			r := v.(*client.Response)
			ce := r.Headers.Get("Content-Encoding")
			return client.ReadBody(r).AddCallback(func(any) (any, error) { return ce, nil }), nil
		})
	})
	if err != nil || v != "gzip" {
		t.Errorf("Twisted's /gzip with Accept-Encoding: Content-Encoding %q, %v", v, err)
	}
	loop.CallFromThread(a.Pool.CloseCachedConnections)
}
