package internet

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// errNotSupported is the error of every listen and connect where the
// reactor cannot watch sockets (Windows).
var errNotSupported = fmt.Errorf("internet: sockets: %w", reactor.ErrNotSupported)

// DefaultBacklog returns the listen queue length of a listener made
// without WithBacklog: the system's maximum, as Go's net package uses (on
// Linux /proc/sys/net/core/somaxconn, read once; elsewhere a backlog the
// kernel cuts down to its own maximum).
// Twisted's default is 50, and a burst of connections larger than the
// queue is dropped by the kernel and retried by the clients only after a
// second or more: 10,000 connects at once took 5-8 s with a queue of 128,
// and well under a second with the system's maximum. Pass WithBacklog(50)
// for Twisted's figure.
func DefaultBacklog() int { return systemBacklog() }

// systemBacklog is the system's maximum listen queue, read once.
var systemBacklog = sync.OnceValue(maxBacklog)

const (
	// acceptsPerReady bounds the connections accepted on one readiness of
	// a listening socket (Twisted's numberAccepts), so that a flood of
	// connections cannot starve the established ones.
	acceptsPerReady = 100
	// The accept back-off after running out of descriptors or memory:
	// first delay, doubled on each failure up to the cap.
	minAcceptBackoff = 10 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// A ListenOption configures a listener.
type ListenOption interface{ applyListen(*listenConfig) }

type listenConfig struct {
	backlog int
	lim     limits
}

type listenOption func(*listenConfig)

func (o listenOption) applyListen(c *listenConfig) { o(c) }

// WithBacklog sets the length of the queue of connections waiting to be
// accepted (listen(2)'s backlog); the default is DefaultBacklog().
func WithBacklog(n int) ListenOption {
	return listenOption(func(c *listenConfig) { c.backlog = n })
}

// A TransportOption configures the connections made by a listener or a
// connector: it is both a ListenOption and a ConnectOption.
type TransportOption func(*limits)

func (o TransportOption) applyListen(c *listenConfig)   { o(&c.lim) }
func (o TransportOption) applyConnect(c *connectConfig) { o(&c.shared.limits) }

// WithWriteLimits sets a connection's flow-control limits, in bytes of
// queued output: a streaming producer is paused above high and resumed at
// or below low, and past hard the connection is closed with ErrOutputLimit.
// The defaults are DefaultHighWater, DefaultLowWater and DefaultOutputLimit.
func WithWriteLimits(high, low, hard int) TransportOption {
	return func(l *limits) { *l = limits{high: high, low: min(low, high), hard: max(hard, high)} }
}

func newListenConfig(opts []ListenOption) *listenConfig {
	c := &listenConfig{backlog: DefaultBacklog(), lim: defaultLimits}
	for _, o := range opts {
		o.applyListen(c)
	}
	return c
}

// Port is a listening socket on a loop (Twisted's tcp.Port and unix.Port):
// it accepts connections and gives each the protocol its factory builds.
// Its methods must be called on its loop.
type Port struct {
	loop    *reactor.Reactor
	fd      int
	factory Factory
	addr    net.Addr
	shared  *connShared
	// handoff, if set, spreads the accepted connections over its loops.
	handoff *reactor.Group
	// group is the GroupPort the port is one socket of, or nil.
	group *GroupPort
	// accept and clock are the system call and the back-off timer's clock,
	// replaced by tests.
	accept  func(fd int) (int, net.Addr, error)
	clock   clock.Clock
	backoff time.Duration
	retry   clock.DelayedCall
	closed  bool
}

// listen opens a listening socket for f; the caller starts watching it.
func listen(loop *reactor.Reactor, addr net.Addr, f Factory, cfg *listenConfig, reusePort bool) (*Port, error) {
	fd, bound, err := sysListen(addr, cfg.backlog, reusePort)
	if err != nil {
		return nil, err
	}
	shared := &connShared{limits: cfg.lim, counts: new(connCounts)}
	if !isWildcard(bound) {
		shared.local = bound
	}
	p := &Port{loop: loop, fd: fd, factory: f, addr: bound, shared: shared, accept: sysAccept, clock: loop}
	startFactory(f)
	return p, nil
}

// listenOn opens a listening socket and starts accepting at once: for a
// caller on the loop, or before the loop runs.
func listenOn(loop *reactor.Reactor, addr net.Addr, f Factory, opts []ListenOption) (*Port, error) {
	p, err := listen(loop, addr, f, newListenConfig(opts), false)
	if err != nil {
		return nil, err
	}
	if err := loop.AddReader(p); err != nil {
		p.stop()
		return nil, err
	}
	addOpenListener(p)
	return p, nil
}

// Addr returns the address the port listens on, with the port number the
// system chose if it was 0: a *net.TCPAddr or a *net.UnixAddr.
func (p *Port) Addr() net.Addr { return p.addr }

// Fd returns the listening socket's descriptor.
func (p *Port) Fd() int { return p.fd }

// DoRead accepts the connections waiting, up to a bound; it is called by
// the loop while the listening socket is readable.
func (p *Port) DoRead() {
	for range acceptsPerReady {
		fd, addr, err := p.accept(p.fd)
		if err != nil {
			switch {
			case wouldBlock(err):
				return
			case acceptSkippable(err):
				continue
			}
			p.backOff(err)
			return
		}
		p.backoff = 0
		p.shared.counts.accepted.Add(1)
		switch {
		case p.handoff != nil:
			p.shared.counts.open.Add(1)
			if target := p.handoff.Next(); target != p.loop {
				target.CallFromThread(func() { p.serve(target, fd, addr) })
				continue
			}
		case p.group != nil:
			if q := p.group.leastLoaded(p); q != p {
				q.shared.counts.open.Add(1)
				q.loop.CallFromThread(func() { q.serve(q.loop, fd, addr) })
				continue
			}
			p.shared.counts.open.Add(1)
		default:
			p.shared.counts.open.Add(1)
		}
		p.serve(p.loop, fd, addr)
	}
}

// backOff stops accepting for a while after an accept error that will not
// go away by itself at once, such as running out of descriptors: the
// connections wait in the backlog meanwhile, rather than the loop spinning
// on a listening socket that stays readable.
func (p *Port) backOff(err error) {
	p.backoff = min(max(2*p.backoff, minAcceptBackoff), maxAcceptBackoff)
	slog.Error("internet: accept failed; pausing the listener",
		"addr", p.addr, "error", err, "retry_in", p.backoff, "out_of_resources", acceptExhausted(err))
	_ = p.loop.RemoveReader(p)
	p.retry = p.clock.CallLater(p.backoff, func() {
		p.retry = nil
		if !p.closed {
			if err := p.loop.AddReader(p); err != nil {
				p.ConnectionLost(err)
			}
		}
	})
}

// serve starts a connection on loop with the protocol the factory builds
// for it, or closes it if the factory returns nil. A panic in the factory
// or in ConnectionMade costs the connection, not the listener. The
// connection has been counted open already, when the loop to serve it
// was chosen.
func (p *Port) serve(loop *reactor.Reactor, fd int, addr net.Addr) {
	var c *Conn
	defer func() {
		if v := recover(); v != nil {
			slog.Error("internet: panic while starting a connection", "addr", p.addr, "panic", v)
			if c == nil {
				p.shared.counts.open.Add(-1)
				sysClose(fd, false)
			} else {
				c.closeLater(lost(&deferred.PanicError{Value: v}), false)
			}
		}
	}()
	proto := p.factory.BuildProtocol(addr)
	if proto == nil {
		p.shared.counts.open.Add(-1)
		p.shared.counts.refused.Add(1)
		sysClose(fd, true)
		return
	}
	if _, tcp := addr.(*net.TCPAddr); tcp {
		// TCP_NODELAY by default, as Go's net package does: the transport
		// already coalesces what the protocol writes in one callback only
		// when the socket is full, and Nagle's algorithm would hold back
		// the small replies of request-response protocols for up to a
		// delayed-ACK timeout (40 ms on Linux).
		_ = sysSetNoDelay(fd, true)
	}
	c = newConn(loop, fd, addr, p.shared)
	c.start(proto)
}

// isWildcard reports whether a is a TCP address that stands for every
// interface, so that it says nothing of a connection's own local address.
func isWildcard(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && (t.IP == nil || t.IP.IsUnspecified())
}

// DoWrite is never called: a port watches only for reading.
func (p *Port) DoWrite() {}

// ConnectionLost closes the port when the loop drops it: at shutdown, or
// after a handler panicked.
func (p *Port) ConnectionLost(reason error) { p.stop() }

// StopListening closes the listening socket, and removes the socket file
// of a Unix port; connections already accepted go on. The returned
// Deferred has fired by the time it returns, the socket being closed. The
// factory's StopFactory is called if no other port or connector uses it.
func (p *Port) StopListening() *deferred.Deferred {
	p.stop()
	return deferred.Succeed(nil)
}

func (p *Port) stop() {
	if p.closed {
		return
	}
	p.closed = true
	if p.group == nil {
		removeOpenListener(p)
	} else if p.group.open.Add(-1) == 0 {
		removeOpenListener(p.group)
	}
	if p.retry != nil {
		_ = p.retry.Cancel()
		p.retry = nil
	}
	_ = p.loop.RemoveReader(p)
	sysClose(p.fd, true)
	if a, ok := p.addr.(*net.UnixAddr); ok && a.Name != "" && a.Name[0] != '@' {
		_ = os.Remove(a.Name)
	}
	stopFactory(p.factory)
}

// GroupPort is a server listening on a loop group: each connection it
// accepts lives on one of the group's loops for its whole life.
//
// On Linux each loop has its own listening socket on the same address
// (SO_REUSEPORT), and the kernel spreads the connections over them: an
// accept costs no hand-off between threads, and a busy loop is not asked
// to accept for the others. The kernel spreads them by a hash of their
// addresses, though, which leaves one loop with 30 of 50 connections as
// often as not: a loop that accepts a connection while it serves more
// than another loop of the group hands it to the loop that serves the
// fewest, through CallFromThread, so that the loops' shares differ by one
// at most. Elsewhere SO_REUSEPORT does not balance at all, so the group's
// first loop accepts and hands the connections to the loops in turn.
type GroupPort struct {
	group *reactor.Group
	ports []*Port
	addr  net.Addr
	// open counts its ports not yet closed: the last to close takes the
	// group off OpenListeners.
	open atomic.Int32
}

// listenGroup listens on addr on every loop of g, or on its first loop with
// a hand-off where the system cannot balance listening sockets.
func listenGroup(g *reactor.Group, addr net.Addr, f Factory, opts []ListenOption) (*GroupPort, error) {
	cfg := newListenConfig(opts)
	loops := g.Loops()
	balance := reusePortBalances && len(loops) > 1
	if _, unix := addr.(*net.UnixAddr); unix {
		balance = false
	}
	gp := &GroupPort{group: g}
	for i, loop := range loops {
		if i > 0 && !balance {
			break
		}
		if i == 1 {
			addr = gp.addr // the port the system chose for the first
		}
		p, err := listen(loop, addr, f, cfg, balance)
		if err != nil {
			for _, p := range gp.ports {
				p.stop()
			}
			return nil, err
		}
		if i == 0 {
			gp.addr = p.addr
		}
		if !balance {
			p.handoff = g
		}
		p.group = gp
		gp.ports = append(gp.ports, p)
	}
	gp.open.Store(int32(len(gp.ports)))
	addOpenListener(gp)
	// The loops may be running: each starts watching its own socket.
	for _, p := range gp.ports {
		p.loop.CallFromThread(func() {
			if !p.closed {
				if err := p.loop.AddReader(p); err != nil {
					slog.Error("internet: cannot watch a listening socket", "addr", p.addr, "error", err)
					p.stop()
				}
			}
		})
	}
	return gp, nil
}

// leastLoaded returns the port of the group with the fewest open
// connections, p if none has fewer than p. Each port's count is its own
// loop's, and is read here only once per accept.
func (gp *GroupPort) leastLoaded(p *Port) *Port {
	best, least := p, p.shared.counts.open.Load()
	for _, q := range gp.ports {
		if n := q.shared.counts.open.Load(); n < least {
			best, least = q, n
		}
	}
	return best
}

// Addr returns the address the group listens on.
func (gp *GroupPort) Addr() net.Addr { return gp.addr }

// StopListening closes the group's listening sockets, each on its loop. It
// must be called on the group's first loop, Loops()[0], or before the
// group runs; the returned Deferred fires on that loop once every socket
// is closed.
func (gp *GroupPort) StopListening() *deferred.Deferred {
	d := deferred.New()
	first := gp.group.Loops()[0]
	remaining := len(gp.ports)
	for _, p := range gp.ports {
		p.loop.CallFromThread(func() {
			p.stop()
			first.CallFromThread(func() {
				if remaining--; remaining == 0 {
					d.Callback(nil)
				}
			})
		})
	}
	return d
}

// factoryUses counts the ports and connectors using each Starter factory,
// across loops, so that StartFactory and StopFactory are called once
// however many use it (Twisted's Factory.numPorts).
var factoryUses struct {
	sync.Mutex
	n map[Starter]int
}

// startFactory counts a use of f, starting it on the first. A Starter must
// be comparable: a pointer, typically.
func startFactory(f Factory) {
	s, ok := f.(Starter)
	if !ok {
		return
	}
	factoryUses.Lock()
	defer factoryUses.Unlock()
	if factoryUses.n == nil {
		factoryUses.n = make(map[Starter]int)
	}
	if factoryUses.n[s] == 0 {
		s.StartFactory()
	}
	factoryUses.n[s]++
}

// stopFactory ends a use of f, stopping it after the last.
func stopFactory(f Factory) {
	s, ok := f.(Starter)
	if !ok {
		return
	}
	factoryUses.Lock()
	defer factoryUses.Unlock()
	if factoryUses.n[s]--; factoryUses.n[s] <= 0 {
		delete(factoryUses.n, s)
		s.StopFactory()
	}
}
