// Package socks is a SOCKS5 proxy (RFC 1928) for CONNECT, with optional
// username/password authentication (RFC 1929).
//
// It is safe by default: a destination in the loopback, private,
// link-local, multicast or other special-purpose ranges, or one of the
// host's own addresses, is refused (reply 2, "not allowed by ruleset")
// unless Destinations.Allow lets it through; a domain is resolved first and
// its addresses checked, and the proxy connects to the address it checked.
// A client has HandshakeTimeout to get from its first byte to a connected
// request. Passwords are compared in constant time.
package socks

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/policies"
	"github.com/twistgo/twist/protocols/relay"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
)

// DefaultHandshakeTimeout is the default Factory.HandshakeTimeout.
const DefaultHandshakeTimeout = 10 * time.Second

// Factory serves SOCKS5: a client names a host and port, the proxy connects
// there and splices the two connections. Only CONNECT is served.
type Factory struct {
	// Loop makes the outgoing connections and resolves names.
	Loop *reactor.Reactor
	// User and Password, if User is set, are the credentials a client
	// must give; without a User, no authentication is asked.
	User, Password string
	// Destinations decides where clients may go.
	Destinations Destinations
	// HandshakeTimeout is how long a client has to get connected;
	// 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Clock times the handshake; nil means each connection's loop.
	Clock clock.Clock
	// Resolve looks a domain name up; nil means net.DefaultResolver, on a
	// thread of the pool.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)

	ownOnce sync.Once
}

// BuildProtocol returns the protocol for one SOCKS client.
func (f *Factory) BuildProtocol(net.Addr) internet.Protocol {
	f.ownOnce.Do(func() {
		if f.Destinations.Own == nil {
			f.Destinations.Own = HostAddrs()
		}
	})
	return &server{f: f}
}

// credentialsMatch compares in time that depends on neither the given nor
// the expected values: digests of equal length, and both always compared.
func (f *Factory) credentialsMatch(user, password []byte) bool {
	hu, hp := sha256.Sum256(user), sha256.Sum256(password)
	eu, ep := sha256.Sum256([]byte(f.User)), sha256.Sum256([]byte(f.Password))
	return subtle.ConstantTimeCompare(hu[:], eu[:])&subtle.ConstantTimeCompare(hp[:], ep[:]) == 1
}

// server is one client's session: a state machine over the bytes received
// until the CONNECT succeeds, a relay after.
type server struct {
	relay.Relay
	f          *Factory
	state      state
	buf        []byte
	handshake  policies.TimeoutMixin
	connecting *deferred.Deferred
}

type state int

const (
	awaitGreeting state = iota
	awaitAuth
	awaitRequest
	awaitConnect
	relaying
	closed
)

func (s *server) ConnectionMade(t internet.Transport) {
	s.Relay.ConnectionMade(t)
	if clk := policies.ConnectionClock(s.f.Clock, t); clk != nil {
		d := s.f.HandshakeTimeout
		if d <= 0 {
			d = DefaultHandshakeTimeout
		}
		s.handshake.SetTimeout(clk, d, func() {
			slog.Default().Info(fmt.Sprintf("socks: %v did not finish its handshake within %v", t.RemoteAddr(), d))
			s.state = closed
			t.AbortConnection()
		})
	}
}

func (s *server) DataReceived(data []byte) {
	switch s.state {
	case relaying:
		s.Relay.DataReceived(data)
		return
	case closed:
		return
	}
	s.buf = append(s.buf, data...)
	for s.state < awaitConnect {
		n, err := s.step()
		if err != nil {
			slog.Default().Info(fmt.Sprintf("socks: closing the connection from %v: %v", s.Transport.RemoteAddr(), err))
			s.fail()
			return
		}
		if n == 0 {
			break
		}
		s.buf = s.buf[n:]
	}
	if s.state < awaitConnect && len(s.buf) > MaxMessage+255 {
		s.fail() // no message of this protocol is that long
	}
}

// PartialMessage reports whether a handshake message has begun arriving
// (policies.MessageState).
func (s *server) PartialMessage() bool { return s.state < awaitConnect && len(s.buf) > 0 }

// Pending reports whether a connection is being made for the client.
func (s *server) Pending() int {
	if s.state == awaitConnect {
		return 1
	}
	return 0
}

// step handles one complete message at the start of s.buf and returns its
// length, or 0 if the message is not complete yet, the session ended, or a
// request was taken (it consumes the request itself).
func (s *server) step() (int, error) {
	switch s.state {
	case awaitGreeting:
		methods, n, err := ParseGreeting(s.buf)
		if err != nil || n == 0 {
			return 0, err
		}
		want := byte(methodNoAuth)
		if s.f.User != "" {
			want = methodPassword
		}
		for _, m := range methods {
			if m == want {
				s.Transport.Write([]byte{socksVersion, want})
				s.state = awaitRequest
				if want == methodPassword {
					s.state = awaitAuth
				}
				return n, nil
			}
		}
		s.Transport.Write([]byte{socksVersion, methodNone})
		return 0, errors.New("no acceptable authentication method offered")
	case awaitAuth:
		user, password, n, err := ParseAuth(s.buf)
		if err != nil || n == 0 {
			return 0, err
		}
		if !s.f.credentialsMatch(user, password) {
			s.Transport.Write([]byte{authVersion, 1})
			return 0, errors.New("wrong username or password")
		}
		s.Transport.Write([]byte{authVersion, 0})
		s.state = awaitRequest
		return n, nil
	case awaitRequest:
		r, n, err := ParseRequest(s.buf)
		if errors.Is(err, ErrAddressType) {
			s.reply(RepAtypNotSupp, nil)
		}
		if err != nil || n == 0 {
			return 0, err
		}
		if r.Command != cmdConnect {
			s.reply(RepCmdNotSupp, nil)
			return 0, fmt.Errorf("command %d is not supported", r.Command)
		}
		// Consumed before the request goes on: a refusal may end the
		// session at once, and what follows the request is the
		// destination's.
		s.buf = s.buf[n:]
		s.request(r)
		return 0, nil
	}
	return 0, nil
}

// request connects to r's destination: an address is checked at once, a
// domain once resolved, off the loop.
func (s *server) request(r Request) {
	s.state = awaitConnect
	// Read nothing more until connected: what the client sent after the
	// request stays in s.buf and goes to the destination first.
	s.Transport.PauseProducing()
	if r.Addr.IsValid() {
		s.connect(r, []netip.Addr{r.Addr})
		return
	}
	resolve := s.f.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := threads.DeferToThread(s.f.Loop, func() (any, error) { return resolve(ctx, r.Domain) })
	d.AddCallbacks(func(v any) (any, error) {
		s.connect(r, v.([]netip.Addr))
		return nil, nil
	}, func(f *deferred.Failure) (any, error) {
		if !errors.Is(f, deferred.ErrCancelled) {
			s.refuse(r, RepHostUnreach, f.Unwrap())
		}
		return nil, nil
	})
	d.AddBoth(func(v any) (any, error) { cancel(); return v, nil })
	s.connecting = d
}

// connect connects to the first permitted address of addrs.
func (s *server) connect(r Request, addrs []netip.Addr) {
	if s.state != awaitConnect {
		return
	}
	var dest netip.Addr
	for _, a := range addrs {
		if s.f.Destinations.Permitted(a) {
			dest = a
			break
		}
	}
	if !dest.IsValid() {
		s.refuse(r, RepNotAllowed, errors.New("the destination is not allowed"))
		return
	}
	s.connecting = relay.Connect(s.f.Loop, joinHostPort(dest.String(), r.Port), &s.Relay, func(err error) {
		s.refuse(r, replyCode(err), err)
	}, func() {
		s.handshake.CancelTimeout()
		s.state = relaying
		s.reply(RepSucceeded, s.Peer().Transport.LocalAddr())
		if len(s.buf) > 0 {
			s.Peer().Transport.Write(s.buf)
		}
		s.buf = nil
		s.Transport.ResumeProducing()
	})
}

// refuse answers a request that cannot be served with code, and ends the
// session. The log names the destination, at most 255 bytes of it.
func (s *server) refuse(r Request, code byte, err error) {
	slog.Default().Info(fmt.Sprintf("socks: %v cannot connect to %q: %v", s.Transport.RemoteAddr(), r.Host(), err))
	s.reply(code, nil)
	s.fail()
}

// reply sends a reply with the bound address bnd (0.0.0.0:0 if nil).
func (s *server) reply(code byte, bnd net.Addr) {
	ap := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if a, ok := bnd.(*net.TCPAddr); ok {
		ap = a.AddrPort()
	}
	msg := []byte{socksVersion, code, 0}
	if ip := ap.Addr().Unmap(); ip.Is4() {
		msg = append(msg, atypIPv4)
		msg = append(msg, ip.AsSlice()...)
	} else {
		msg = append(msg, atypIPv6)
		msg = append(msg, ip.AsSlice()...)
	}
	msg = binary.BigEndian.AppendUint16(msg, ap.Port())
	s.Transport.Write(msg)
}

// fail ends the session: what was written is sent, then the connection closes.
func (s *server) fail() {
	s.state, s.buf = closed, nil
	s.handshake.CancelTimeout()
	s.Transport.LoseConnection()
}

func (s *server) ConnectionLost(reason error) {
	s.state = closed
	s.handshake.CancelTimeout()
	if s.connecting != nil && !s.connecting.Called() {
		s.connecting.Cancel()
	}
	s.Relay.ConnectionLost(reason)
}

// replyCode maps a connect error to the reply RFC 1928 defines for it.
func replyCode(err error) byte {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, internet.ErrConnectionRefused):
		return RepRefused
	case errors.As(err, &dnsErr), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, internet.ErrTimeout):
		return RepHostUnreach
	case errors.Is(err, syscall.ENETUNREACH):
		return RepNetUnreach
	}
	return RepFailure
}
