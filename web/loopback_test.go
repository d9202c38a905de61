package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// streamer writes its body in three pieces, a turn of the loop apart.
type streamer struct{ web.BaseResource }

func (*streamer) RenderGET(r *web.Request) ([]byte, error) {
	parts := []string{"one ", "two ", "three"}
	var next func()
	next = func() {
		if r.Finished() {
			return
		}
		_ = r.Write([]byte(parts[0]))
		if parts = parts[1:]; len(parts) == 0 {
			r.Finish()
			return
		}
		r.Clock().CallLater(time.Millisecond, next)
	}
	r.Clock().CallLater(0, next)
	return nil, web.NotDoneYet
}

func interopTree() web.Resource {
	root := tree()
	root.PutChild("stream", &streamer{})
	root.PutChild("echo", echo)
	return root
}

func TestNetHTTPClient(t *testing.T) {
	addr := webtest.Serve(t, web.NewSite(interopTree()))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	defer client.CloseIdleConnections()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	if resp, body := get("/hello"); resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}
	// The second request reuses the connection.
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+addr+"/hello", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !reused {
		t.Error("keep-alive connection not reused")
	}
	if resp, body := get("/stream"); body != "one two three" || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("stream: %q %v", body, resp.TransferEncoding)
	}
	if resp, _ := get("/missing"); resp.StatusCode != 404 {
		t.Fatalf("missing: %d", resp.StatusCode)
	}
	// A chunked upload (unknown length) with 100-continue.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("streamed "))
		pw.Write([]byte("upload"))
		pw.Close()
	}()
	req, _ = http.NewRequest("PUT", "http://"+addr+"/echo", pr)
	req.Header.Set("Expect", "100-continue")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "PUT streamed upload" {
		t.Fatalf("chunked upload: %q", b)
	}
	resp, err = client.Head("http://" + addr + "/hello")
	if err != nil || resp.ContentLength != 5 {
		t.Fatalf("HEAD: %v %d", err, resp.ContentLength)
	}
	resp.Body.Close()
}

// TestRawPipelining sends many requests in one write and reads the
// answers in order.
func TestRawPipelining(t *testing.T) {
	addr := webtest.Serve(t, web.NewSite(interopTree()))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf bytes.Buffer
	const n = 50
	for i := range n {
		fmt.Fprintf(&buf, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%d", len(fmt.Sprint(i)), i)
	}
	go c.Write(buf.Bytes())
	br := bufio.NewReader(c)
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("POST %d", i); string(b) != want {
			t.Fatalf("response %d: %q", i, b)
		}
	}
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed (Debian package curl; .ci/run installs it)")
	}
	addr := webtest.Serve(t, web.NewSite(interopTree()))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-sS", "http://" + addr + "/hello"}, "hello"},
		{[]string{"-sS", "--http1.0", "http://" + addr + "/stream"}, "one two three"},
		{[]string{"-sS", "http://" + addr + "/stream"}, "one two three"},
		{[]string{"-sS", "-d", "x=1&y=2", "http://" + addr + "/echo"}, "POST x=1&y=2"},
		{[]string{"-sS", "-H", "Transfer-Encoding: chunked", "--data-binary", "chunky", "http://" + addr + "/echo"}, "POST chunky"},
		{[]string{"-sS", "-H", "Expect: 100-continue", "--data-binary", "waited", "http://" + addr + "/echo"}, "POST waited"},
		{[]string{"-sS", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}", "http://" + addr + "/hello", "http://" + addr + "/nothing"}, "200 1404 0"},
		{[]string{"-sS", "-I", "http://" + addr + "/hello"}, "HTTP/1.1 200 OK"},
	}
	for _, tc := range cases {
		out, err := exec.Command(curl, tc.args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("curl %q: %v: %q, want %q", tc.args, err, out, tc.want)
		}
	}
}

// python is Debian's interpreter, which has python3-twisted (.ci/run
// installs it); the python3 on PATH may be another.
const python = "/usr/bin/python3"

const agentScript = `
import sys
from twisted.internet import reactor, defer
from twisted.internet.task import react
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.client import FileBodyProducer
from io import BytesIO

@defer.inlineCallbacks
def main(reactor, base):
    pool = HTTPConnectionPool(reactor, persistent=True)
    agent = Agent(reactor, pool=pool)
    for path in [b"/hello", b"/stream", b"/hello"]:
        r = yield agent.request(b"GET", base + path)
        body = yield readBody(r)
        print(r.code, body.decode())
    r = yield agent.request(b"POST", base + b"/echo", Headers({}), FileBodyProducer(BytesIO(b"from twisted")))
    print(r.code, (yield readBody(r)).decode())
    r = yield agent.request(b"GET", base + b"/nothing")
    yield readBody(r)
    print(r.code)
    yield pool.closeCachedConnections()

react(main, [sys.argv[1].encode()])
`

func TestTwistedAgent(t *testing.T) {
	if err := exec.Command(python, "-c", "import twisted.web.client").Run(); err != nil {
		t.Skipf("%s cannot import twisted.web.client (Debian package python3-twisted; .ci/run installs it): %v", python, err)
	}
	addr := webtest.Serve(t, web.NewSite(interopTree()))
	cmd := exec.Command(python, "-W", "ignore", "-c", agentScript, "http://"+addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	want := "200 hello\n200 one two three\n200 hello\n200 POST from twisted\n404\n"
	if err != nil || string(out) != want {
		t.Fatalf("%v: %q, want %q; stderr: %s", err, out, want, stderr.Bytes())
	}
}
