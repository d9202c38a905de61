package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// parseMessage frames one request from data with our parser: the bytes
// the whole message takes and its body, or an error (also for a message
// that data does not hold whole).
func parseMessage(data []byte) (n int, body []byte, err error) {
	lim := DefaultLimits()
	n += SkipEmptyLines(data)
	hn, _, err := ScanHead(data[n:], 0, &lim)
	if err != nil {
		return 0, nil, err
	}
	if hn < 0 {
		return 0, nil, io.ErrUnexpectedEOF
	}
	h, err := ParseRequestHead(string(data[n:n+hn]), &lim)
	if err != nil {
		return 0, nil, err
	}
	fr, err := RequestFraming(h)
	if err != nil {
		return 0, nil, err
	}
	n += hn
	rest := data[n:]
	if !fr.Chunked {
		if int64(len(rest)) < fr.Length {
			return 0, nil, io.ErrUnexpectedEOF
		}
		return n + int(fr.Length), rest[:fr.Length], nil
	}
	var d ChunkedDecoder
	used := 0
	for !d.Done() {
		k, b, err := d.Decode(rest[used:])
		if err != nil {
			return 0, nil, err
		}
		if k == 0 {
			return 0, nil, io.ErrUnexpectedEOF
		}
		used += k
		body = append(body, b...)
	}
	return n + used, body, nil
}

// goMessage frames one request with net/http's parser.
func goMessage(data []byte) (n int, body []byte, err error) {
	rd := bytes.NewReader(data)
	br := bufio.NewReader(rd)
	req, err := http.ReadRequest(br)
	if err != nil {
		return 0, nil, err
	}
	body, err = io.ReadAll(req.Body)
	if err != nil {
		return 0, nil, err
	}
	return len(data) - rd.Len() - br.Buffered(), body, nil
}

// framingError reports whether net/http refused a message for a reason of
// framing: where we accept it, the two would split the byte stream
// differently.
func framingError(err error) bool {
	s := err.Error()
	for _, w := range []string{"Content-Length", "Transfer-Encoding", "chunk", "EOF", "transfer encoding"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

var seeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
}

// FuzzRequestFraming feeds the same bytes to our request parser and to
// net/http's, and fails where both accept a message but frame it
// differently, or where we accept one that net/http refuses for a reason
// of framing. Where only net/http accepts, we are the stricter: no fault.
func FuzzRequestFraming(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, body, err := parseMessage(data)
		if err != nil {
			return
		}
		gn, gbody, gerr := goMessage(data)
		if gerr != nil {
			if framingError(gerr) {
				t.Fatalf("we frame %d bytes, net/http refuses: %v", n, gerr)
			}
			return
		}
		if n != gn || !bytes.Equal(body, gbody) {
			t.Fatalf("framing differs: ours %d bytes body %q, net/http's %d bytes body %q", n, body, gn, gbody)
		}
	})
}

// FuzzChunked checks that the decoder never panics, never returns more
// than it consumed, and that what it accepts re-encodes to a body it
// decodes the same.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{"3\r\nabc\r\n0\r\n\r\n", "0\r\n\r\n", "a;b=c\r\n0123456789\r\n0\r\nX: y\r\n\r\n", "fffffffffffffff\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d ChunkedDecoder
		var body []byte
		used := 0
		for used < len(data) && !d.Done() {
			k, b, err := d.Decode(data[used:])
			if err != nil {
				return
			}
			if k == 0 || len(b) > k {
				t.Fatalf("consumed %d, returned %d", k, len(b))
			}
			used += k
			body = append(body, b...)
		}
		if !d.Done() {
			return
		}
		enc := append(AppendChunk(nil, body), LastChunk...)
		var d2 ChunkedDecoder
		var again []byte
		for u := 0; !d2.Done(); {
			k, b, err := d2.Decode(enc[u:])
			if err != nil {
				t.Fatal(err)
			}
			u += k
			again = append(again, b...)
		}
		if !bytes.Equal(body, again) {
			t.Fatalf("round trip %q != %q", again, body)
		}
	})
}
