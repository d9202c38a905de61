package client

import (
	"time"

	"github.com/twistgo/twist/clock"
)

// Pool keeps idle persistent connections per scheme, host and port for
// reuse (Twisted's HTTPConnectionPool). It belongs to one loop.
type Pool struct {
	// MaxPerHost bounds the idle connections kept per host; more are
	// closed. Default 2 (Twisted's maxPersistentPerHost); -1 keeps none.
	MaxPerHost int
	// IdleTimeout closes a connection idle this long. Default 240 s
	// (Twisted's cachedConnectionTimeout).
	IdleTimeout time.Duration

	idle map[string][]*idleConn
}

type idleConn struct {
	c     *conn
	timer clock.DelayedCall
}

// Pool defaults.
const (
	DefaultMaxPerHost  = 2
	DefaultIdleTimeout = 240 * time.Second
)

// NewPool returns a pool with the defaults.
func NewPool() *Pool { return &Pool{} }

// get takes an idle connection for key, or returns nil.
func (p *Pool) get(key string) *conn {
	list := p.idle[key]
	if len(list) == 0 {
		return nil
	}
	ic := list[len(list)-1]
	list[len(list)-1] = nil
	p.idle[key] = list[:len(list)-1]
	if ic.timer != nil && ic.timer.Active() {
		_ = ic.timer.Cancel()
	}
	return ic.c
}

// put keeps c for reuse, or closes it if the host has enough.
func (p *Pool) put(c *conn) {
	max := p.MaxPerHost
	if max == 0 {
		max = DefaultMaxPerHost
	}
	if max < 0 || len(p.idle[c.key]) >= max {
		c.state = cClosed
		c.t.LoseConnection()
		return
	}
	if p.idle == nil {
		p.idle = make(map[string][]*idleConn)
	}
	ic := &idleConn{c: c}
	if clk := c.agent.clock(); clk != nil {
		d := p.IdleTimeout
		if d <= 0 {
			d = DefaultIdleTimeout
		}
		ic.timer = clk.CallLater(d, func() {
			p.remove(c)
			c.state = cClosed
			c.t.LoseConnection()
		})
	}
	p.idle[c.key] = append(p.idle[c.key], ic)
}

// remove forgets c, which has closed.
func (p *Pool) remove(c *conn) {
	list := p.idle[c.key]
	for i, ic := range list {
		if ic.c == c {
			if ic.timer != nil && ic.timer.Active() {
				_ = ic.timer.Cancel()
			}
			p.idle[c.key] = append(list[:i], list[i+1:]...)
			return
		}
	}
}

// CloseCachedConnections closes every idle connection
// (Twisted's closeCachedConnections).
func (p *Pool) CloseCachedConnections() {
	for key, list := range p.idle {
		for _, ic := range list {
			if ic.timer != nil && ic.timer.Active() {
				_ = ic.timer.Cancel()
			}
			ic.c.state = cClosed
			ic.c.t.LoseConnection()
		}
		delete(p.idle, key)
	}
}
