package static_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/static"
	"github.com/twistgo/twist/web/webtest"
)

// tree makes:  root/a.txt, root/page.html, root/sub/index.html,
// root/empty/, root/link -> ../secret, root/inner -> a.txt; and secret
// beside root.
func tree(t *testing.T) (string, time.Time) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	mod := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	for name, body := range map[string]string{
		"root/a.txt": "0123456789", "root/page.html": "<p>hi</p>", "root/sub/index.html": "index",
		"secret": "do not serve", "root/weird name?.bin": "x",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(root, "inner")); err != nil {
		t.Fatal(err)
	}
	return root, mod
}

func open(t *testing.T, dir string) *static.File {
	f, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// get sends one request with extra header lines and pumps the file
// producer, as the transport would, until the response is done.
func get(t *testing.T, res web.Resource, method, target, extra string) *webtest.Response {
	t.Helper()
	c := webtest.Connect(web.NewSite(res))
	c.Send(method+" "+target+" HTTP/1.1\r\nHost: a\r\n"+extra+"\r\n", method)
	for i := 0; c.T.Producer() != nil; i++ {
		if i > 1000 {
			t.Fatal("producer never finished")
		}
		c.T.Producer().(interface{ ResumeProducing() }).ResumeProducing()
	}
	return c.Must(t)
}

func TestFile(t *testing.T) {
	root, mod := tree(t)
	f := open(t, root)
	lm := mod.Format(http.TimeFormat)
	cases := []struct {
		name, method, target, extra string
		status                      int
		body, header, value         string
	}{
		{"file", "GET", "/a.txt", "", 200, "0123456789", "Content-Type", "text/plain; charset=utf-8"},
		{"html", "GET", "/page.html", "", 200, "<p>hi</p>", "Last-Modified", lm},
		{"head", "HEAD", "/a.txt", "", 200, "", "Content-Length", "10"},
		{"index", "GET", "/sub/", "", 200, "index", "", ""},
		{"dir redirect", "GET", "/sub?x=1", "", 302, "", "Location", "/sub/?x=1"},
		{"listing", "GET", "/", "", 200, `<a href="a.txt">a.txt</a>`, "", ""},
		{"listing escapes", "GET", "/", "", 200, `<a href="weird%20name%3F.bin">weird name?.bin</a>`, "", ""},
		{"empty listing", "GET", "/empty/", "", 200, "Directory listing for /empty/", "", ""},
		{"missing", "GET", "/nope", "", 404, "", "", ""},
		{"below a file", "GET", "/a.txt/x", "", 404, "", "", ""},
		{"dotdot", "GET", "/../secret", "", 403, "", "", ""},
		{"encoded dotdot", "GET", "/%2e%2e/secret", "", 403, "", "", ""},
		{"encoded slash", "GET", "/sub%2F..%2F..%2Fsecret", "", 403, "", "", ""},
		{"backslash", "GET", "/..%5Csecret", "", 403, "", "", ""},
		{"symlink out", "GET", "/link", "", 404, "", "", ""},
		{"symlink in", "GET", "/inner", "", 200, "0123456789", "", ""},
		{"not modified", "GET", "/a.txt", "If-Modified-Since: " + lm + "\r\n", 304, "", "", ""},
		{"modified", "GET", "/a.txt", "If-Modified-Since: " + mod.Add(-time.Hour).Format(http.TimeFormat) + "\r\n", 200, "0123456789", "", ""},
		{"range", "GET", "/a.txt", "Range: bytes=2-4\r\n", 206, "234", "Content-Range", "bytes 2-4/10"},
		{"open range", "GET", "/a.txt", "Range: bytes=7-\r\n", 206, "789", "Content-Range", "bytes 7-9/10"},
		{"suffix range", "GET", "/a.txt", "Range: bytes=-3\r\n", 206, "789", "", ""},
		{"range past end", "GET", "/a.txt", "Range: bytes=5-100\r\n", 206, "56789", "Content-Range", "bytes 5-9/10"},
		{"unsatisfiable", "GET", "/a.txt", "Range: bytes=10-\r\n", 416, "", "Content-Range", "bytes */10"},
		{"several ranges: whole", "GET", "/a.txt", "Range: bytes=0-1,3-4\r\n", 200, "0123456789", "", ""},
		{"bad range ignored", "GET", "/a.txt", "Range: bytes=4-2\r\n", 200, "0123456789", "", ""},
		{"other unit ignored", "GET", "/a.txt", "Range: lines=1-2\r\n", 200, "0123456789", "", ""},
		{"post", "POST", "/a.txt", "", 405, "", "Allow", "GET, HEAD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, f, tc.method, tc.target, tc.extra)
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.body) {
				t.Fatalf("%d %q, want %d %q", r.Status, r.Body, tc.status, tc.body)
			}
			if tc.header != "" && r.Header.Get(tc.header) != tc.value {
				t.Fatalf("%s: %q, want %q", tc.header, r.Header.Get(tc.header), tc.value)
			}
			if tc.status != 404 && tc.status != 403 && strings.Contains(string(r.Body), "do not serve") {
				t.Fatal("served the secret")
			}
		})
	}
}

func TestETagAndIfRange(t *testing.T) {
	root, _ := tree(t)
	f := open(t, root)
	etag := get(t, f, "GET", "/a.txt", "").Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("ETag %q", etag)
	}
	if r := get(t, f, "GET", "/a.txt", "If-None-Match: "+etag+"\r\n"); r.Status != 304 {
		t.Fatalf("If-None-Match: %d", r.Status)
	}
	if r := get(t, f, "GET", "/a.txt", "Range: bytes=0-0\r\nIf-Range: "+etag+"\r\n"); r.Status != 206 {
		t.Fatalf("current If-Range: %d", r.Status)
	}
	if r := get(t, f, "GET", "/a.txt", "Range: bytes=0-0\r\nIf-Range: \"old\"\r\n"); r.Status != 200 {
		t.Fatalf("stale If-Range: %d", r.Status)
	}
}

func TestListingOffAndIndexNames(t *testing.T) {
	root, _ := tree(t)
	f := open(t, root)
	f.SetListing(false)
	if r := get(t, f, "GET", "/empty/", ""); r.Status != 403 {
		t.Fatalf("listing off: %d", r.Status)
	}
	f.SetIndexNames("a.txt")
	if r := get(t, f, "GET", "/", ""); string(r.Body) != "0123456789" {
		t.Fatalf("index name: %q", r.Body)
	}
}

// TestStreamsWithFlowControl serves a file bigger than a chunk: the
// producer writes one chunk each time the transport asks, and stops, with
// the file closed, when the client goes.
func TestStreamsWithFlowControl(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*static.ChunkSize/16+5)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	f := open(t, dir)
	c := webtest.Connect(web.NewSite(f))
	c.Send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
	p := c.T.Producer()
	if p == nil || c.T.Streaming() {
		t.Fatal("no pull producer registered")
	}
	if len(c.Rest()) > 1024 {
		t.Fatalf("wrote %d bytes before being asked", len(c.Rest()))
	}
	pull := p.(interface{ ResumeProducing() })
	pull.ResumeProducing()
	if n := len(c.Rest()); n < static.ChunkSize || n > static.ChunkSize+1024 {
		t.Fatalf("one pull wrote %d bytes", n)
	}
	for c.T.Producer() != nil {
		pull.ResumeProducing()
	}
	if r := c.Must(t); !bytes.Equal(r.Body, big) {
		t.Fatalf("body of %d bytes, want %d", len(r.Body), len(big))
	}

	// A client that goes mid-file stops the producer.
	c = webtest.Connect(web.NewSite(f))
	c.Send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
	pull = c.T.Producer().(interface{ ResumeProducing() })
	pull.ResumeProducing()
	c.Lose()
	c.T.Producer().StopProducing() // what a real transport does on loss
	n := len(c.T.Value())
	pull.ResumeProducing() // a late call must write nothing
	if len(c.T.Value()) != n {
		t.Fatal("the producer wrote after the client went")
	}
}

func TestData(t *testing.T) {
	r, err := webtest.Get(static.NewData([]byte("data"), "text/plain"), "/anything/below")
	if err != nil || r.Status != 200 || string(r.Body) != "data" || r.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("%v %+v", err, r)
	}
}

// TestLoopbackDownload fetches a file with net/http's client over a real
// socket, where the transport drives the producer.
func TestLoopbackDownload(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("twist"), 1<<18)
	if err := os.WriteFile(filepath.Join(dir, "f.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := webtest.Serve(t, web.NewSite(open(t, dir)))
	resp, err := http.Get("http://" + addr + "/f.bin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(b, big) {
		t.Fatalf("%v: %d bytes", err, len(b))
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/f.bin", nil)
	req.Header.Set("Range", "bytes=1000-1009")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || !bytes.Equal(b, big[1000:1010]) {
		t.Fatalf("range: %d %q", resp.StatusCode, b)
	}
	http.DefaultClient.CloseIdleConnections()
}
