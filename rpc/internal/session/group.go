package session

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twistgo/twist/reactor"
)

// A Member is a connection of a Group.
type Member interface {
	// Drain stops taking calls, answers those in flight and then closes
	// the connection. It is called on the connection's loop.
	Drain()
	// Abort closes the connection at once; its pending calls are
	// cancelled. It is called on the connection's loop.
	Abort()
}

// A Group is the set of live connections of one server, on any number of
// loops, so that they can be drained together. It is safe for concurrent
// use.
type Group struct {
	mu       sync.Mutex
	members  map[Member]*reactor.Reactor
	draining bool
	done     chan struct{}
	// unsent counts the answers whose write failed (Conn.report).
	unsent atomic.Uint64
}

// Unsent returns how many answers of the group's connections could not be
// written: their peer had reset or shut the connection.
func (g *Group) Unsent() uint64 { return g.unsent.Load() }

// Add adds m, which lives on loop (nil for a connection without one, told
// on the caller's goroutine), and reports whether the group is draining: a
// connection made then must drain at once.
func (g *Group) Add(m Member, loop *reactor.Reactor) (draining bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members == nil {
		g.members = make(map[Member]*reactor.Reactor)
	}
	g.members[m] = loop
	return g.draining
}

// Remove removes m, once its connection is lost.
func (g *Group) Remove(m Member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.members, m)
	g.closeIfDone()
}

func (g *Group) closeIfDone() {
	if g.draining && len(g.members) == 0 {
		select {
		case <-g.done:
		default:
			close(g.done)
		}
	}
}

// Drain tells every member to drain and returns a channel closed once
// every member has been removed. If ctx is done first, the members left
// are aborted. Calling it again returns the same channel.
func (g *Group) Drain(ctx context.Context) <-chan struct{} {
	g.mu.Lock()
	if g.draining {
		g.mu.Unlock()
		return g.done
	}
	g.draining = true
	g.done = make(chan struct{})
	done := g.done
	g.closeIfDone()
	g.mu.Unlock()
	g.tell(Member.Drain)
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			g.tell(Member.Abort)
		}
	}()
	return done
}

// tell calls f on every member, on its loop; a member without a loop
// belongs to the caller (a test's fake transport) and is called at once.
func (g *Group) tell(f func(Member)) {
	g.mu.Lock()
	var here []Member
	for m, loop := range g.members {
		if loop == nil {
			here = append(here, m)
			continue
		}
		loop.CallFromThread(func() { f(m) })
	}
	g.mu.Unlock()
	for _, m := range here {
		f(m)
	}
}

// GroupOf returns the Group of a dispatcher that keeps one (an
// *rpc.Server), or nil: package rpc sets it, so that a wire protocol built
// on an rpc.Server adds its connections to the server's group.
var GroupOf = func(any) *Group { return nil }
