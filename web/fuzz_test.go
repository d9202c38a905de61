package web_test

import (
	"bytes"
	"testing"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// FuzzServer feeds any bytes, in two reads split anywhere, to a site, and
// checks that the server neither panics nor writes a response a client
// cannot parse, and that everything it answers it answers whole.
func FuzzServer(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		c := webtest.Connect(web.NewSite(tree()))
		k := int(split) % (len(data) + 1)
		c.Send(string(data[:k]))
		c.Send(string(data[k:]))
		for {
			r, err := c.Next()
			if err == webtest.ErrIncomplete {
				// Next takes a response to be a GET's: one to a HEAD
				// looks cut short to it.
				if len(c.Rest()) > 0 && !bytes.Contains(data, []byte("HEAD")) {
					t.Fatalf("a partial response: %q", c.Rest())
				}
				return
			}
			if err != nil {
				t.Fatalf("unparseable output: %v: %q", err, c.Rest())
			}
			if r.Status == 0 {
				t.Fatal("no status")
			}
		}
	})
}

var seeds = []string{
	"GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /sub/leaf/x HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n3\r\nx=1\r\n0\r\n\r\n",
	"HEAD /hello HTTP/1.0\r\n\r\n",
	"GET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n",
}

func BenchmarkServeSmall(b *testing.B) {
	body := []byte("Hello, World!")
	site := web.NewSite(web.RenderFunc(func(r *web.Request) ([]byte, error) {
		r.SetHeader("Content-Type", "text/plain")
		return body, nil
	}))
	c := webtest.Connect(site)
	req := []byte("GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		c.P.DataReceived(req)
		c.T.Clear()
	}
}
