package endpoints

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// DefaultAttemptDelay is how long a HostnameEndpoint gives a connection
// attempt before it starts the next one alongside: RFC 8305's Connection
// Attempt Delay, as Twisted and Go's net use.
const DefaultAttemptDelay = 300 * time.Millisecond

// DefaultMaxAddresses is how many of a name's addresses a HostnameEndpoint
// tries, at most: the answer comes from a name server, which could list
// hundreds.
const DefaultMaxAddresses = 16

// HostnameEndpoint connects to a host name and port over TCP with happy
// eyeballs (RFC 8305; Twisted's HostnameEndpoint): it resolves the name off
// the loop, orders the addresses alternating between IPv6 and IPv4
// (starting with the family of the first address the resolver gave), and
// tries them in turn, starting the next attempt when the one before has
// failed or after the attempt delay, whichever comes first, with earlier
// attempts still running. The first connection made wins; the others are
// stopped. Connect fails only when every address has failed, with every
// address's reason.
//
// Its methods must be called on its loop. The connect options (time-out,
// bind address, write limits) apply to each attempt.
type HostnameEndpoint struct {
	desc  string
	host  string
	port  int
	opts  []internet.ConnectOption
	delay time.Duration
	most  int // addresses tried at most
	net   dialNet
	// resolve looks host up and calls done on the loop with the result.
	resolve func(ctx context.Context, host string, done func([]netip.Addr, error))
}

// dialNet is what a HostnameEndpoint needs from a loop: its clock and TCP
// connectors. A test gives it a twisttest.MemoryReactorClock.
type dialNet interface {
	clock.Clock
	ConnectTCP(addr string, f internet.ClientFactory, opts ...internet.ConnectOption) internet.Connector
}

type loopNet struct{ *reactor.Reactor }

func (n loopNet) ConnectTCP(addr string, f internet.ClientFactory, opts ...internet.ConnectOption) internet.Connector {
	return internet.ConnectTCP(n.Reactor, addr, f, opts...)
}

// NewHostnameEndpoint returns an endpoint that connects to host (a name or
// an IP address) on port from loop, with happy eyeballs and
// DefaultAttemptDelay. Names are looked up with net.DefaultResolver on
// another goroutine, the result coming back to the loop through
// CallFromThread, so the loop never waits for the resolver.
func NewHostnameEndpoint(loop *reactor.Reactor, host string, port int, opts ...internet.ConnectOption) *HostnameEndpoint {
	return &HostnameEndpoint{
		desc: "tcp:host=" + QuoteStringArgument(host) + ":port=" + strconv.Itoa(port),
		host: host, port: port, opts: opts, delay: DefaultAttemptDelay, most: DefaultMaxAddresses, net: loopNet{loop},
		resolve: func(ctx context.Context, host string, done func([]netip.Addr, error)) {
			go func() {
				addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
				loop.CallFromThread(func() { done(addrs, err) })
			}()
		},
	}
}

// SetAttemptDelay sets how long an attempt runs alone before the next
// starts; RFC 8305 recommends 250 ms at least and 2 s at most.
func (e *HostnameEndpoint) SetAttemptDelay(d time.Duration) { e.delay = d }

// SetMaxAddresses sets how many addresses are tried at most, in the order
// of HostnameEndpoint; the default is DefaultMaxAddresses.
func (e *HostnameEndpoint) SetMaxAddresses(n int) { e.most = max(n, 1) }

// String returns the endpoint's description.
func (e *HostnameEndpoint) String() string { return e.desc }

// Connect connects; see ClientEndpoint and HostnameEndpoint.
func (e *HostnameEndpoint) Connect(f internet.Factory) *deferred.Deferred { return e.connect(f, nil) }

func (e *HostnameEndpoint) describe() string   { return e.desc }
func (e *HostnameEndpoint) serverName() string { return e.host }

func (e *HostnameEndpoint) connect(f internet.Factory, wrap func(internet.ClientFactory) internet.ClientFactory) *deferred.Deferred {
	r := &race{e: e}
	r.cf = newConnectFactory(f, e.desc, r.stop)
	r.factory = wrapWith(wrap, r)
	if ip, err := netip.ParseAddr(strings.Trim(e.host, "[]")); err == nil {
		r.resolved([]netip.Addr{ip}, nil)
		return r.cf.d
	}
	var ctx context.Context
	ctx, r.cancelLookup = context.WithCancel(context.Background())
	e.resolve(ctx, e.host, r.resolved)
	return r.cf.d
}

// race is one Connect of a HostnameEndpoint. It is the client factory
// of every attempt, told apart by their addresses, so that the user's
// factory is started once for the Connect.
type race struct {
	e            *HostnameEndpoint
	cf           *connectFactory
	factory      internet.ClientFactory // r, or r wrapped in TLS
	cancelLookup context.CancelFunc
	addrs        []netip.AddrPort
	next         int // the index in addrs of the next attempt
	pending      []attempt
	failures     []error
	timer        clock.DelayedCall
	winner       internet.Connector
	over         bool // won, lost or cancelled
}

type attempt struct {
	addr string
	c    internet.Connector
}

// resolved starts the attempts, on the loop, once the addresses are known.
func (r *race) resolved(ips []netip.Addr, err error) {
	r.cancelLookup = nil
	if r.over {
		return
	}
	if err == nil && len(ips) == 0 {
		err = fmt.Errorf("the name %s has no address", quote(r.e.host))
	}
	if err != nil {
		r.over = true
		r.cf.fail(err)
		return
	}
	r.addrs = interleave(ips, uint16(r.e.port))
	r.addrs = r.addrs[:min(len(r.addrs), r.e.most)]
	r.startNext()
}

// interleave orders the addresses as RFC 8305 section 4 asks: the
// families alternate, starting with the first address's, each family in
// the resolver's order; duplicates go.
func interleave(ips []netip.Addr, port uint16) []netip.AddrPort {
	var first, other []netip.AddrPort
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		ip = ip.Unmap()
		if seen[ip] {
			continue
		}
		seen[ip] = true
		if ip.Is4() == ips[0].Unmap().Is4() {
			first = append(first, netip.AddrPortFrom(ip, port))
		} else {
			other = append(other, netip.AddrPortFrom(ip, port))
		}
	}
	out := make([]netip.AddrPort, 0, len(first)+len(other))
	for i := 0; i < len(first) || i < len(other); i++ {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(other) {
			out = append(out, other[i])
		}
	}
	return out
}

// startNext starts the next attempt, and arms the timer for the one after.
func (r *race) startNext() {
	if r.timer != nil {
		_ = r.timer.Cancel()
		r.timer = nil
	}
	addr := r.addrs[r.next].String()
	r.next++
	c := r.e.net.ConnectTCP(addr, r.factory, r.e.opts...)
	r.pending = append(r.pending, attempt{addr, c})
	if r.next < len(r.addrs) {
		r.timer = r.e.net.CallLater(r.e.delay, func() {
			r.timer = nil
			r.startNext()
		})
	}
}

// BuildProtocol is called when an attempt has connected: the first wins,
// the others are stopped.
func (r *race) BuildProtocol(addr net.Addr) internet.Protocol {
	if r.over {
		return nil
	}
	r.over = true
	if r.timer != nil {
		_ = r.timer.Cancel()
		r.timer = nil
	}
	pending := r.pending
	r.pending = nil
	for _, a := range pending {
		if a.addr == addr.String() {
			r.winner = a.c
		} else {
			_ = a.c.StopConnecting()
		}
	}
	return r.cf.BuildProtocol(addr)
}

// ClientConnectionFailed is an attempt that failed: the next starts at
// once, or, if it was the last, Connect fails.
func (r *race) ClientConnectionFailed(c internet.Connector, reason error) {
	if r.over {
		return
	}
	for i, a := range r.pending {
		if a.c == c {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			r.failures = append(r.failures, fmt.Errorf("%s: %w", a.addr, reason))
			break
		}
	}
	switch {
	case r.next < len(r.addrs):
		r.startNext()
	case len(r.pending) == 0:
		r.over = true
		r.cf.fail(&AttemptsError{Errs: r.failures})
	}
}

// ClientConnectionLost does nothing, as connectFactory's: the winner's
// protocol tells Connect why its connection ended.
func (r *race) ClientConnectionLost(internet.Connector, error) {}

// StartFactory starts the user's factory.
func (r *race) StartFactory() { r.cf.StartFactory() }

// StopFactory stops the user's factory.
func (r *race) StopFactory() { r.cf.StopFactory() }

// stop ends the race when Connect's Deferred is cancelled.
func (r *race) stop() {
	r.over = true
	if r.cancelLookup != nil {
		r.cancelLookup()
	}
	if r.timer != nil {
		_ = r.timer.Cancel()
		r.timer = nil
	}
	for _, a := range r.pending {
		_ = a.c.StopConnecting()
	}
	r.pending = nil
	if r.winner != nil {
		r.winner.Disconnect()
	}
}

// AttemptsError is the reason a HostnameEndpoint's Connect fails when
// every address failed: each address's reason, in the order tried.
type AttemptsError struct {
	Errs []error
}

// Error lists the reasons on one line.
func (e *AttemptsError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "every address failed: " + strings.Join(msgs, "; ")
}

// Unwrap returns the reasons, for errors.Is and errors.As.
func (e *AttemptsError) Unwrap() []error { return e.Errs }
