package rpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// Dial connects a client to addr ("host:port") over TCP and returns it once
// it is connected, or the error of the attempt, or ctx's error if ctx is
// done first. It may be called from any goroutine.
//
// The client runs on a loop that the clients made by Dial share, as
// net/http's default transport shares its connections: the loop starts with
// the first client and stops when the last one is closed. Once connected,
// the client reconnects whenever the connection drops (see
// WithReconnectDelay); calls made while it is not connected fail with
// ErrNotConnected. Close it when done.
func Dial(ctx context.Context, addr string, opts ...ClientOption) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	loop, err := sharedLoop.acquire()
	if err != nil {
		return nil, err
	}
	c := newClient(loop, opts)
	c.shared = true
	dialed := make(chan error, 1)
	loop.CallFromThread(func() {
		c.connect(addr)
		c.dial.AddBoth(func(r any) (any, error) {
			if f, ok := r.(*deferred.Failure); ok {
				dialed <- f.Value()
			} else {
				dialed <- nil
			}
			return nil, nil
		})
	})
	select {
	case err := <-dialed:
		if err != nil {
			c.closing.Store(true)
			sharedLoop.release(loop)
			return nil, fmt.Errorf("rpc: dialing %s: %w", addr, err)
		}
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// closeShared closes a client of the shared loop from any goroutine, and
// lets the loop go.
func (c *Client) closeShared() {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	done := make(chan struct{})
	c.loop.CallFromThread(func() {
		c.closeOnLoop()
		close(done)
	})
	<-done
	sharedLoop.release(c.loop)
}

// Info asks the server about itself, from any goroutine but the loop of a
// client made by DialOn, and waits for the answer or for ctx to be done.
func (c *Client) Info(ctx context.Context) (Info, error) {
	if c.closing.Load() {
		return Info{}, fmt.Errorf("info: %w", ErrClientClosed)
	}
	answered := make(chan any, 1)
	var d *deferred.Deferred // the loop's
	c.loop.CallFromThread(func() {
		d = c.InfoRemote()
		d.AddBoth(func(r any) (any, error) {
			answered <- r
			return nil, nil
		})
	})
	select {
	case r := <-answered:
		if f, ok := r.(*deferred.Failure); ok {
			return Info{}, f.Value()
		}
		return r.(Info), nil
	case <-ctx.Done():
		c.loop.CallFromThread(func() { d.Cancel() })
		return Info{}, ctx.Err()
	}
}

// sharedLoop is the loop of the clients made by Dial.
var sharedLoop loopRef

// loopRef is a loop that runs while it has users.
type loopRef struct {
	mu    sync.Mutex
	loop  *reactor.Reactor
	users int
}

// acquire returns the loop, running, starting one if there is none.
func (l *loopRef) acquire() (*reactor.Reactor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loop == nil {
		loop, err := reactor.New()
		if err != nil {
			return nil, err
		}
		running := make(chan struct{})
		loop.CallWhenRunning(func() { close(running) })
		// The loop logs why it stops, should its poller fail.
		go func() { _ = loop.Run() }()
		<-running // so that release's Stop finds it running
		l.loop = loop
	}
	l.users++
	return l.loop, nil
}

// release gives up one use of loop, and stops it after the last.
func (l *loopRef) release(loop *reactor.Reactor) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users--
	if l.users == 0 && l.loop == loop {
		l.loop = nil
		_ = loop.Stop()
	}
}
