package http1

import (
	"testing"
)

func TestParseResponseHead(t *testing.T) {
	lim := DefaultLimits()
	cases := []struct {
		head, method string
		status       int
		framing      Framing
		err          error
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", 200, Framing{Length: 5}, nil},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", 200, Framing{}, nil},
		{"HTTP/1.1 204 No Content\r\n\r\n", "GET", 204, Framing{}, nil},
		{"HTTP/1.1 304 \r\n\r\n", "GET", 304, Framing{}, nil},
		{"HTTP/1.0 200 OK\r\n\r\n", "GET", 200, Framing{Length: -1}, nil},
		{"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, Framing{Chunked: true}, nil},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 0, Framing{}, ErrLengthAndChunked},
		{"HTTP/1.1 2000 OK\r\n\r\n", "GET", 0, Framing{}, ErrStatusLine},
		{"HTTP/1.1 099 OK\r\n\r\n", "GET", 0, Framing{}, ErrStatusLine},
		{"HTTP/2 200 OK\r\n\r\n", "GET", 0, Framing{}, ErrStatusLine},
		{"HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "GET", 0, Framing{}, ErrFieldName},
	}
	for _, tc := range cases {
		h, err := ParseResponseHead(tc.head, &lim)
		var fr Framing
		if err == nil {
			fr, err = ResponseFraming(h, tc.method)
		}
		if err != tc.err {
			t.Errorf("%q: error %v, want %v", tc.head, err, tc.err)
			continue
		}
		if err == nil && (h.Status != tc.status || fr != tc.framing) {
			t.Errorf("%q: %d %+v", tc.head, h.Status, fr)
		}
	}
}

func TestHeader(t *testing.T) {
	var h Header
	h.Add("A", "1")
	h.Add("b", "2")
	h.Add("a", "3")
	if h.Get("a") != "1" || len(h.Values("A")) != 2 || !h.Has("B") {
		t.Fatal("lookups")
	}
	h.Set("A", "4")
	if got := h.Values("a"); len(got) != 1 || got[0] != "4" || h.Len() != 2 {
		t.Fatalf("Set: %v", got)
	}
	h.Add("Evil", "x\r\nInjected: y")
	if got := string(h.AppendTo(nil)); got != "A: 4\r\nb: 2\r\nEvil: x  Injected: y\r\n" {
		t.Fatalf("AppendTo %q", got)
	}
	h.Del("evil")
	if h.Has("Evil") || !h.HasToken("A", "4") {
		t.Fatal("Del or HasToken")
	}
}
