package rpc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
)

// fakeClient is a client connected over a StringTransport.
func fakeClient(t *testing.T, opts ...ClientOption) (*Client, *clientProtocol, *twisttest.StringTransportWithDisconnection) {
	c := newClient(nil, opts)
	p := c.newProtocol()
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	p.ConnectionMade(tr)
	return c, p, tr
}

func TestClientSendsCallsWithIDs(t *testing.T) {
	c, _, tr := fakeClient(t)
	c.CallRemote("add", 1, 2)
	c.CallRemote("nothing")
	ms := frames(t, tr.Value())
	if len(ms) != 2 || ms[0].Kind != KindCall || ms[0].Func != "add" || idOf(t, ms[0]) != 1 || idOf(t, ms[1]) != 2 {
		t.Fatalf("sent %+v", ms)
	}
	vals, _ := ms[0].Args.Values()
	if len(vals) != 2 || vals[0].AsInt64() != 1 || vals[1].AsInt64() != 2 {
		t.Fatalf("arguments %v", ms[0].Args)
	}
}

func TestClientMatchesAnswersByID(t *testing.T) {
	c, p, _ := fakeClient(t)
	d1, d2 := c.CallRemote("a"), c.CallRemote("b")
	p.DataReceived(frame(t, bson.D{{Key: "error", Value: bson.D{{Key: "message", Value: NoSuchFunction}, {Key: "detail", Value: "no b"}}}, {Key: "id", Value: 2}}))
	p.DataReceived(frame(t, bson.D{{Key: "reply", Value: "A"}, {Key: "id", Value: int64(1)}}))
	if v := twisttest.SuccessResultAs[bson.RawValue](t, d1); v.StringValue() != "A" {
		t.Fatalf("reply %v", v)
	}
	f := twisttest.FailureResultOf(t, d2)
	var e *Error
	if !errors.Is(f, ErrNoSuchFunction) || !errors.As(f, &e) || e.Detail != "no b" {
		t.Fatalf("failure %v", f)
	}
}

func TestClientIgnoresUnknownAnswers(t *testing.T) {
	c, p, _ := fakeClient(t)
	d := c.CallRemote("a")
	p.DataReceived(frame(t, bson.D{{Key: "reply", Value: 1}, {Key: "id", Value: 99}}))
	p.DataReceived(frame(t, bson.D{{Key: "reply", Value: 1}}))
	twisttest.AssertNoResult(t, d)
}

func TestClientConnectionLostFailsPendingCalls(t *testing.T) {
	c, _, tr := fakeClient(t)
	d1, d2 := c.CallRemote("a"), c.CallRemote("b")
	tr.AbortConnection()
	twisttest.FailureResultOf(t, d1, ErrConnectionLost)
	twisttest.FailureResultOf(t, d2, ErrConnectionLost)
	twisttest.FailureResultOf(t, c.CallRemote("c"), ErrNotConnected)
}

func TestClientTimeout(t *testing.T) {
	clk := task.NewClock()
	c, p, _ := fakeClient(t, WithTimeout(time.Second), WithClientClock(clk))
	d := c.CallRemote("slow")
	clk.Advance(time.Second)
	twisttest.FailureResultOf(t, d, ErrTimeout)
	p.DataReceived(frame(t, bson.D{{Key: "reply", Value: 1}, {Key: "id", Value: 1}})) // late: dropped
}

func TestClientCancelForgetsCall(t *testing.T) {
	c, _, _ := fakeClient(t)
	d := c.CallRemote("a")
	d.Cancel()
	twisttest.FailureResultOf(t, d, deferred.ErrCancelled)
	if len(c.pending) != 0 {
		t.Fatal("cancelled call still pending")
	}
}

func TestClientClose(t *testing.T) {
	c, _, tr := fakeClient(t)
	d := c.CallRemote("a")
	c.Close()
	twisttest.FailureResultOf(t, d, ErrClientClosed)
	twisttest.FailureResultOf(t, c.CallRemote("b"), ErrClientClosed)
	_ = tr
}

func TestClientInfo(t *testing.T) {
	c, p, tr := fakeClient(t)
	d := c.InfoRemote()
	ms := frames(t, tr.Value())
	if len(ms) != 1 || ms[0].Kind != KindInfo {
		t.Fatalf("sent %+v", ms)
	}
	info, _ := bson.Marshal(Info{Name: "calc"})
	p.DataReceived(frame(t, bson.D{{Key: "info", Value: bson.Raw(info)}, {Key: "id", Value: 1}}))
	if got := twisttest.SuccessResultAs[Info](t, d); got.Name != "calc" {
		t.Fatalf("info %+v", got)
	}
}

// loopback runs a server and a client on a real loop over TCP.
func loopback(t *testing.T, s *Server, body func(r *reactor.Reactor, c *Client), opts ...ClientOption) {
	t.Helper()
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	r.CallWhenRunning(func() {
		port, err := internet.ListenTCP(r, "127.0.0.1:0", s.Factory())
		if err != nil {
			t.Error(err)
			r.Stop()
			return
		}
		DialOn(r, port.Addr().String(), opts...).AddCallbacks(func(v any) (any, error) {
			c := v.(*Client)
			go func() {
				defer r.Stop()
				body(r, c)
			}()
			return nil, nil
		}, func(f *deferred.Failure) (any, error) {
			t.Error(f)
			r.Stop()
			return nil, nil
		})
	})
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestLoopbackAdd(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		var n int
		if err := c.Call(context.Background(), "add", []any{1, 2}, &n); err != nil || n != 3 {
			t.Errorf("add(1, 2) = %d, %v", n, err)
		}
		err := c.Call(context.Background(), "foo", nil, nil)
		if !errors.Is(err, ErrNoSuchFunction) {
			t.Errorf("foo: %v", err)
		}
	})
}

func TestLoopbackConcurrentCalls(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				var n int
				if err := c.Call(context.Background(), "add", []any{i, i}, &n); err != nil || n != 2*i {
					t.Errorf("add(%d, %d) = %d, %v", i, i, n, err)
				}
			})
		}
		wg.Wait()
	})
}

func TestLoopbackConnectionDropFailsPendingCalls(t *testing.T) {
	s := NewServer()
	s.Register("hang", func() *deferred.Deferred { return deferred.New() })
	s.Register("drop", func(ctx context.Context) {})
	loopback(t, s, func(r *reactor.Reactor, c *Client) {
		done := make(chan error, 1)
		go func() { done <- c.Call(context.Background(), "hang", nil, nil) }()
		// Close the client's connection from its side once the call is out.
		r.CallFromThread(func() {
			c.CallRemote("drop").AddBoth(func(any) (any, error) {
				c.proto.Transport.AbortConnection()
				return nil, nil
			})
		})
		if err := <-done; !errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrNotConnected) {
			t.Errorf("pending call: %v", err)
		}
		r.CallFromThread(c.Close)
	})
}

func TestCallCancelled(t *testing.T) {
	s := NewServer()
	s.Register("hang", func() *deferred.Deferred { return deferred.New() })
	loopback(t, s, func(r *reactor.Reactor, c *Client) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Call(ctx, "hang", nil, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	})
}
