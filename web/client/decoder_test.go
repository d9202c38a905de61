package client

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twistgo/twist/twisttest"
)

type collector struct {
	data   []byte
	pieces int
	end    error
}

func (c *collector) DataReceived(b []byte) { c.data = append(c.data, b...); c.pieces++ }
func (c *collector) ConnectionLost(err error) {
	if c.end != nil {
		panic("ConnectionLost twice")
	}
	c.end = err
}

// A gzip'd chunked body fed a byte at a time is decoded as it arrives.
func TestGunzipStreams(t *testing.T) {
	var plain bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&plain, "line %d\n", i)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain.Bytes()[:plain.Len()/2])
	zw.Flush()
	half := z.Len()
	zw.Write(plain.Bytes()[plain.Len()/2:])
	zw.Close()
	c, _, _, d := fake("GET")
	c.DataReceived([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + fmt.Sprint(z.Len()) + "\r\n\r\n"))
	r := twisttest.SuccessResultOf(t, (&ContentDecoderAgent{}).decode(d)).(*Response)
	if r.Length != -1 || r.Headers.Has("Content-Encoding") {
		t.Fatalf("head not rewritten: %d %v", r.Length, r.Headers)
	}
	out := &collector{}
	r.DeliverBody(out)
	for i, b := range z.Bytes() {
		c.DataReceived([]byte{b})
		if i == half && len(out.data) < plain.Len()/2 {
			t.Fatalf("after the flushed half: %d bytes decoded, want %d", len(out.data), plain.Len()/2)
		}
	}
	if !errors.Is(out.end, ErrResponseDone) || !bytes.Equal(out.data, plain.Bytes()) {
		t.Fatalf("%v, %d bytes", out.end, len(out.data))
	}
}

// A cut connection ends the decoded body with the failure.
func TestGunzipCut(t *testing.T) {
	c, _, _, d := fake("GET")
	c.DataReceived([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1000\r\n\r\n\x1f\x8b"))
	r := twisttest.SuccessResultOf(t, (&ContentDecoderAgent{}).decode(d)).(*Response)
	out := &collector{}
	r.DeliverBody(out)
	c.ConnectionLost(errors.New("cut"))
	if !errors.Is(out.end, ErrResponseFailed) {
		t.Fatalf("%v", out.end)
	}
}

func TestBodyTimeout(t *testing.T) {
	c, tr, clk, d := fake("GET")
	c.DataReceived([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
	_, rb := body(t, d)
	clk.Advance(DefaultBodyTimeout - time.Second)
	c.DataReceived([]byte("def")) // each piece restarts the wait
	clk.Advance(DefaultBodyTimeout - time.Second)
	if rb.Called() {
		t.Fatal("timed out early")
	}
	clk.Advance(2 * time.Second)
	twisttest.FailureResultOf(t, rb, ErrTimeout)
	if !tr.Aborted() {
		t.Fatal("not aborted")
	}
}
