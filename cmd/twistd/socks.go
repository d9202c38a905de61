package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

func init() {
	twistd.Register(twistd.ServiceMaker{
		Name:        "socks",
		Description: "a SOCKS5 proxy (RFC 1928) for CONNECT, with optional username/password auth (RFC 1929)",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			addr := listenFlags(fs, 1080)
			user := fs.String("user", "", "require this username (and --password); no authentication if empty")
			password := fs.String("password", "", "the password for --user")
			return func(loop *reactor.Reactor) (service.Service, error) {
				if *user == "" && *password != "" {
					return nil, errors.New("socks: --password needs --user")
				}
				return service.TCPServer(loop, addr(), &SOCKSFactory{loop: loop, user: *user, password: *password}), nil
			}
		},
	})
}

// SOCKS5 constants (RFC 1928, RFC 1929).
const (
	socksVersion    = 5
	authVersion     = 1
	methodNoAuth    = 0x00
	methodPassword  = 0x02
	methodNone      = 0xff
	cmdConnect      = 0x01
	atypIPv4        = 0x01
	atypDomain      = 0x03
	atypIPv6        = 0x04
	repSucceeded    = 0x00
	repFailure      = 0x01
	repNetUnreach   = 0x03
	repHostUnreach  = 0x04
	repRefused      = 0x05
	repCmdNotSupp   = 0x07
	repAtypNotSupp  = 0x08
	maxSOCKSRequest = 4 + 1 + 255 + 2 // the longest request: a domain of 255 bytes
)

// SOCKSFactory serves SOCKS5: a client names a host and port, the proxy
// connects there and splices the two connections. Only CONNECT is served.
type SOCKSFactory struct {
	loop           *reactor.Reactor
	user, password string
}

// BuildProtocol returns the protocol for one SOCKS client.
func (f *SOCKSFactory) BuildProtocol(net.Addr) internet.Protocol { return &socks{f: f} }

// socks is one client's session: a state machine over the bytes received
// until the CONNECT succeeds, a relay after.
type socks struct {
	relay
	f          *SOCKSFactory
	state      socksState
	buf        []byte
	connecting *deferred.Deferred
}

type socksState int

const (
	awaitGreeting socksState = iota
	awaitAuth
	awaitRequest
	awaitConnect
	relaying
	closed
)

func (s *socks) DataReceived(data []byte) {
	if s.state == relaying {
		s.relay.DataReceived(data)
		return
	}
	if s.state == closed {
		return
	}
	s.buf = append(s.buf, data...)
	for s.state < awaitConnect {
		n := s.step()
		if n == 0 {
			break
		}
		s.buf = s.buf[n:]
	}
	if s.state < awaitConnect && len(s.buf) > maxSOCKSRequest {
		s.fail() // no message of this protocol is that long
	}
}

// step handles one complete message at the start of s.buf and returns its
// length, or 0 if the message is not complete yet (or the session failed).
func (s *socks) step() int {
	b := s.buf
	switch s.state {
	case awaitGreeting:
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return 0
		}
		if b[0] != socksVersion {
			s.fail()
			return 0
		}
		want := byte(methodNoAuth)
		if s.f.user != "" {
			want = methodPassword
		}
		for _, m := range b[2 : 2+int(b[1])] {
			if m == want {
				s.Transport.Write([]byte{socksVersion, want})
				s.state = awaitRequest
				if want == methodPassword {
					s.state = awaitAuth
				}
				return 2 + int(b[1])
			}
		}
		s.Transport.Write([]byte{socksVersion, methodNone})
		s.fail()
		return 0
	case awaitAuth:
		if len(b) < 2 || len(b) < 3+int(b[1]) || len(b) < 3+int(b[1])+int(b[2+int(b[1])]) {
			return 0
		}
		ulen := int(b[1])
		plen := int(b[2+ulen])
		user, password := string(b[2:2+ulen]), string(b[3+ulen:3+ulen+plen])
		if b[0] != authVersion || user != s.f.user || password != s.f.password {
			s.Transport.Write([]byte{authVersion, 1})
			s.fail()
			return 0
		}
		s.Transport.Write([]byte{authVersion, 0})
		s.state = awaitRequest
		return 3 + ulen + plen
	case awaitRequest:
		return s.request(b)
	}
	return 0
}

// request handles a request: VER CMD RSV ATYP DST.ADDR DST.PORT.
func (s *socks) request(b []byte) int {
	if len(b) < 5 {
		return 0
	}
	var host string
	var n int
	switch b[3] {
	case atypIPv4:
		n = 4 + 4 + 2
		if len(b) < n {
			return 0
		}
		host = netip.AddrFrom4([4]byte(b[4:8])).String()
	case atypIPv6:
		n = 4 + 16 + 2
		if len(b) < n {
			return 0
		}
		host = netip.AddrFrom16([16]byte(b[4:20])).String()
	case atypDomain:
		n = 4 + 1 + int(b[4]) + 2
		if len(b) < n {
			return 0
		}
		host = string(b[5 : 5+int(b[4])])
	default:
		s.reply(repAtypNotSupp, nil)
		s.fail()
		return 0
	}
	if b[0] != socksVersion {
		s.fail()
		return 0
	}
	if b[1] != cmdConnect {
		s.reply(repCmdNotSupp, nil)
		s.fail()
		return 0
	}
	port := binary.BigEndian.Uint16(b[n-2 : n])
	dest := net.JoinHostPort(host, strconv.Itoa(int(port)))
	s.state = awaitConnect
	// Read nothing more until connected: what the client sent after the
	// request stays in s.buf and goes to the destination first.
	s.Transport.PauseProducing()
	// A domain is resolved on another goroutine by the connector, never on
	// the loop.
	s.connecting = connectRelay(s.f.loop, dest, &s.relay, func(err error) {
		slog.Default().Info(fmt.Sprintf("socks: cannot connect to %s: %v", dest, err))
		s.reply(replyCode(err), nil)
		s.fail()
	}, func() {
		s.state = relaying
		s.reply(repSucceeded, s.peer.Transport.LocalAddr())
		if len(s.buf) > 0 {
			s.peer.Transport.Write(s.buf)
		}
		s.buf = nil
		s.Transport.ResumeProducing()
	})
	return n
}

// reply sends a reply with the bound address bnd (0.0.0.0:0 if nil).
func (s *socks) reply(code byte, bnd net.Addr) {
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
func (s *socks) fail() {
	s.state = closed
	s.Transport.LoseConnection()
}

func (s *socks) ConnectionLost(reason error) {
	s.state = closed
	if s.connecting != nil && !s.connecting.Called() {
		s.connecting.Cancel()
	}
	s.relay.ConnectionLost(reason)
}

// replyCode maps a connect error to the reply RFC 1928 defines for it.
func replyCode(err error) byte {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, internet.ErrConnectionRefused):
		return repRefused
	case errors.As(err, &dnsErr), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, internet.ErrTimeout):
		return repHostUnreach
	case errors.Is(err, syscall.ENETUNREACH):
		return repNetUnreach
	}
	return repFailure
}
