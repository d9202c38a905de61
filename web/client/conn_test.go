package client

import (
	"errors"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
)

// fake starts a request on a fake connection and returns it with the
// transport, the clock and the request's Deferred.
func fake(method string) (*conn, *twisttest.StringTransport, *task.Clock, *deferred.Deferred) {
	clk := task.NewClock()
	a := &Agent{Clock: clk}
	ex := &exchange{method: method, d: deferred.New(), head: []byte(method + " / HTTP/1.1\r\nHost: a\r\n\r\n")}
	c := &conn{agent: a, key: "http://a:80", first: ex}
	tr := &twisttest.StringTransport{Lenient: true}
	c.ConnectionMade(tr)
	return c, tr, clk, ex.d
}

func body(t *testing.T, d *deferred.Deferred) (*Response, *deferred.Deferred) {
	t.Helper()
	r := twisttest.SuccessResultOf(t, d).(*Response)
	return r, ReadBody(r)
}

func TestResponseSplitAnywhere(t *testing.T) {
	raws := map[string]string{
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n": "hello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello":                                                         "hello",
	}
	for raw, want := range raws {
		c, tr, _, d := fake("GET")
		if string(tr.Value()) != "GET / HTTP/1.1\r\nHost: a\r\n\r\n" {
			t.Fatalf("sent %q", tr.Value())
		}
		var bd *deferred.Deferred
		for i := range len(raw) {
			c.DataReceived([]byte(raw[i : i+1]))
			if bd == nil && d.Called() {
				_, bd = body(t, d)
			}
		}
		if got := twisttest.SuccessResultOf(t, bd).([]byte); string(got) != want {
			t.Fatalf("%q: body %q", raw, got)
		}
	}
}

func TestCloseDelimitedBody(t *testing.T) {
	c, _, _, d := fake("GET")
	c.DataReceived([]byte("HTTP/1.0 200 OK\r\n\r\nall of it"))
	r, bd := body(t, d)
	if r.Length != -1 {
		t.Fatalf("length %d", r.Length)
	}
	c.ConnectionLost(errors.New("eof"))
	twisttest.FailureResultOf(t, bd, ErrPotentialDataLoss)
}

func TestHeaderTimeout(t *testing.T) {
	_, tr, clk, d := fake("GET")
	clk.Advance(DefaultHeaderTimeout - time.Second)
	twisttest.AssertNoResult(t, d)
	clk.Advance(time.Second)
	twisttest.FailureResultOf(t, d, ErrTimeout)
	if !tr.Aborted() {
		t.Fatal("connection not aborted")
	}
}

func TestBodyBeforeDeliverBodyPausesReading(t *testing.T) {
	c, tr, _, d := fake("GET")
	c.DataReceived([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"))
	r := twisttest.SuccessResultOf(t, d).(*Response)
	if tr.ProducerState() != twisttest.Paused {
		t.Fatalf("reading not paused with no consumer: %v", tr.ProducerState())
	}
	bd := ReadBody(r)
	if tr.ProducerState() != twisttest.Producing {
		t.Fatal("reading not resumed")
	}
	c.DataReceived([]byte("world"))
	if got := twisttest.SuccessResultOf(t, bd).([]byte); string(got) != "helloworld" {
		t.Fatalf("body %q", got)
	}
}

func TestMalformedResponse(t *testing.T) {
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n\r\n",
	} {
		c, tr, _, d := fake("GET")
		c.DataReceived([]byte(raw))
		var failed error
		d.AddCallbacks(func(v any) (any, error) {
			return ReadBody(v.(*Response)), nil
		}, nil).AddErrback(func(f *deferred.Failure) (any, error) {
			failed = f
			return nil, nil
		})
		if !errors.Is(failed, ErrResponseFailed) {
			t.Fatalf("%q: %v", raw, failed)
		}
		if !tr.Aborted() {
			t.Fatalf("%q: connection not aborted", raw)
		}
	}
}
