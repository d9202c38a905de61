package socks

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// SOCKS5 constants (RFC 1928, RFC 1929).
const (
	socksVersion   = 5
	authVersion    = 1
	methodNoAuth   = 0x00
	methodPassword = 0x02
	methodNone     = 0xff
	cmdConnect     = 0x01
	atypIPv4       = 0x01
	atypDomain     = 0x03
	atypIPv6       = 0x04
)

// Reply codes (RFC 1928, section 6).
const (
	RepSucceeded   = 0x00
	RepFailure     = 0x01
	RepNotAllowed  = 0x02
	RepNetUnreach  = 0x03
	RepHostUnreach = 0x04
	RepRefused     = 0x05
	RepCmdNotSupp  = 0x07
	RepAtypNotSupp = 0x08
)

// MaxMessage is the longest message of the handshake: a request naming a
// domain of 255 bytes (4 + 1 + 255 + 2), longer than the longest greeting
// (2 + 255) and password message (3 + 255 + 255 is longer, but is checked
// by its own lengths).
const MaxMessage = 4 + 1 + 255 + 2

// A Request is a client's CONNECT request: a host (an IP address or a
// domain name) and a port.
type Request struct {
	Command byte
	// Addr is the destination's IP address, if it was given as one.
	Addr netip.Addr
	// Domain is the destination's name, if it was given as one.
	Domain string
	Port   uint16
}

// Host returns the destination as "host:port".
func (r Request) Host() string {
	h := r.Domain
	if r.Addr.IsValid() {
		h = r.Addr.String()
	}
	return joinHostPort(h, r.Port)
}

func joinHostPort(host string, port uint16) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// Errors of the parsers; each ends the session.
var (
	ErrVersion     = errors.New("socks: not SOCKS version 5")
	ErrAddressType = errors.New("socks: unknown address type")
	ErrDomain      = errors.New("socks: empty domain name")
)

// ParseGreeting parses a greeting (VER NMETHODS METHODS) at the start of b.
// It returns the methods and the greeting's length, or n == 0 if the
// greeting has not all arrived.
func ParseGreeting(b []byte) (methods []byte, n int, err error) {
	if len(b) >= 1 && b[0] != socksVersion {
		return nil, 0, ErrVersion
	}
	if len(b) < 2 || len(b) < 2+int(b[1]) {
		return nil, 0, nil
	}
	n = 2 + int(b[1])
	return b[2:n], n, nil
}

// ParseAuth parses a username/password message (RFC 1929) at the start of
// b. It returns them and the message's length, or n == 0 if it has not all
// arrived.
func ParseAuth(b []byte) (user, password []byte, n int, err error) {
	if len(b) >= 1 && b[0] != authVersion {
		return nil, nil, 0, errors.New("socks: not version 1 of username/password authentication")
	}
	if len(b) < 2 {
		return nil, nil, 0, nil
	}
	ulen := int(b[1])
	if len(b) < 3+ulen {
		return nil, nil, 0, nil
	}
	plen := int(b[2+ulen])
	n = 3 + ulen + plen
	if len(b) < n {
		return nil, nil, 0, nil
	}
	return b[2 : 2+ulen], b[3+ulen : n], n, nil
}

// ParseRequest parses a request (VER CMD RSV ATYP DST.ADDR DST.PORT) at the
// start of b. It returns it and its length, or n == 0 if it has not all
// arrived. A request with an unknown address type returns ErrAddressType.
func ParseRequest(b []byte) (r Request, n int, err error) {
	if len(b) >= 1 && b[0] != socksVersion {
		return Request{}, 0, ErrVersion
	}
	if len(b) < 5 {
		return Request{}, 0, nil
	}
	r.Command = b[1]
	switch b[3] {
	case atypIPv4:
		n = 4 + 4 + 2
		if len(b) < n {
			return Request{}, 0, nil
		}
		r.Addr = netip.AddrFrom4([4]byte(b[4:8]))
	case atypIPv6:
		n = 4 + 16 + 2
		if len(b) < n {
			return Request{}, 0, nil
		}
		r.Addr = netip.AddrFrom16([16]byte(b[4:20])).Unmap()
	case atypDomain:
		n = 4 + 1 + int(b[4]) + 2
		if len(b) < n {
			return Request{}, 0, nil
		}
		if b[4] == 0 {
			return Request{}, 0, ErrDomain
		}
		r.Domain = string(b[5 : 5+int(b[4])])
		// A name that is an address literal is that address, so that
		// the destination checks see it.
		if a, err := netip.ParseAddr(r.Domain); err == nil {
			r.Addr, r.Domain = a.Unmap(), ""
		}
	default:
		return Request{}, 0, ErrAddressType
	}
	r.Port = binary.BigEndian.Uint16(b[n-2 : n])
	return r, n, nil
}
