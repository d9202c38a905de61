package rpc

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// recordingTransport records what the client writes, on the loop.
type recordingTransport struct {
	internet.Transport
	writes int
	data   []byte
}

func (t *recordingTransport) Write(b []byte) (int, error) {
	t.writes++
	t.data = append(t.data, b...)
	return t.Transport.Write(b)
}

// holdLoop blocks r's loop, once it has put a recordingTransport under c,
// until release is called; Call's calls made meanwhile wait in the
// batch. The loop runs then before it goes on.
func holdLoop(r *reactor.Reactor, c *Client, then func()) (rec *recordingTransport, release func()) {
	rec = &recordingTransport{}
	held := make(chan struct{})
	r.CallFromThread(func() {
		rec.Transport = c.proto.Transport
		c.proto.Transport = rec
		<-held
		if then != nil {
			then()
		}
	})
	return rec, func() { close(held) }
}

// awaitQueued returns once n calls wait in c's batch. The loop is held,
// so that the callers make progress only towards that.
func awaitQueued(c *Client, n int) {
	for {
		c.mu.Lock()
		got := len(c.batch)
		c.mu.Unlock()
		if got >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestCallBatchesCallsMadeTogether(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		const n = 20
		rec, release := holdLoop(r, c, nil)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var sum int
				if err := c.Call(context.Background(), "add", []any{i, i}, &sum); err != nil || sum != 2*i {
					t.Errorf("add(%d, %d) = %d, %v", i, i, sum, err)
				}
			})
		}
		awaitQueued(c, n)
		release()
		wg.Wait()
		ids := map[int64]bool{}
		for _, m := range frames(t, rec.data) {
			ids[idOf(t, m)] = true
		}
		if rec.writes != 1 || len(ids) != n {
			t.Errorf("%d calls with %d ids in %d writes, want %d in 1", len(frames(t, rec.data)), len(ids), rec.writes, n)
		}
	})
}

func TestCallCancelledInBatchIsNotSent(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		rec, release := holdLoop(r, c, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancelled := make(chan error, 1)
		go func() { cancelled <- c.Call(ctx, "add", []any{1, 1}, nil) }()
		kept := make(chan error, 1)
		var sum int
		go func() { kept <- c.Call(context.Background(), "add", []any{2, 2}, &sum) }()
		awaitQueued(c, 2)
		cancel()
		// The loop is still held: a queued call is cancelled without it.
		if err := <-cancelled; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call: %v", err)
		}
		release()
		if err := <-kept; err != nil || sum != 4 {
			t.Errorf("add(2, 2) = %d, %v", sum, err)
		}
		ms := frames(t, rec.data)
		if len(ms) != 1 {
			t.Fatalf("sent %d calls, want 1", len(ms))
		}
		if vals, _ := ms[0].Args.Values(); len(vals) != 2 || vals[0].AsInt64() != 2 {
			t.Errorf("sent add%v, want add(2, 2)", ms[0].Args)
		}
	})
}

func TestCallCancelledAfterSendingIsForgotten(t *testing.T) {
	s := NewServer()
	started := make(chan struct{}, 1)
	s.Register("hang", func() *deferred.Deferred {
		started <- struct{}{}
		return deferred.New()
	})
	loopback(t, s, func(r *reactor.Reactor, c *Client) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- c.Call(ctx, "hang", nil, nil) }()
		<-started
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
		// Call posted the forgetting before it returned.
		waiting := make(chan int)
		r.CallFromThread(func() { waiting <- len(c.waiting) })
		if n := <-waiting; n != 0 {
			t.Errorf("%d calls still waiting for an answer", n)
		}
	})
}

func TestCallFailsBatchOnConnectionLoss(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		const n = 10
		_, release := holdLoop(r, c, func() { c.proto.Transport.AbortConnection() })
		errs := make(chan error, n)
		for range n {
			go func() { errs <- c.Call(context.Background(), "add", []any{1, 2}, nil) }()
		}
		awaitQueued(c, n)
		release()
		for range n {
			// Written to the aborted connection, or failed on its loss.
			err := <-errs
			if !errors.Is(err, internet.ErrConnectionClosed) && !errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrNotConnected) {
				t.Errorf("call in the batch: %v", err)
			}
		}
		r.CallFromThread(c.Close)
	})
}

func TestCallFailsBatchOnClose(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		const n = 10
		rec, release := holdLoop(r, c, c.Close)
		errs := make(chan error, n)
		for range n {
			go func() { errs <- c.Call(context.Background(), "add", []any{1, 2}, nil) }()
		}
		awaitQueued(c, n)
		release()
		for range n {
			if err := <-errs; !errors.Is(err, ErrClientClosed) {
				t.Errorf("call in the batch: %v", err)
			}
		}
		if rec.writes != 0 {
			t.Errorf("%d writes after Close", rec.writes)
		}
	})
}

func TestCallClientTimeout(t *testing.T) {
	s := NewServer()
	s.Register("hang", func() *deferred.Deferred { return deferred.New() })
	loopback(t, s, func(r *reactor.Reactor, c *Client) {
		if err := c.Call(context.Background(), "hang", nil, nil); !errors.Is(err, ErrTimeout) {
			t.Errorf("err %v", err)
		}
		waiting := make(chan int)
		r.CallFromThread(func() { waiting <- len(c.waiting) })
		if n := <-waiting; n != 0 {
			t.Errorf("%d calls still waiting for an answer", n)
		}
	}, WithTimeout(time.Millisecond))
}

func TestCallReusesCallsSafely(t *testing.T) {
	loopback(t, testServer(t), func(r *reactor.Reactor, c *Client) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					var sum int
					if err := c.Call(context.Background(), "add", []any{g, i}, &sum); err != nil || sum != g+i {
						t.Errorf("add(%d, %d) = %d, %v", g, i, sum, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
