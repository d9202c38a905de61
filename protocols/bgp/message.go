package bgp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MessageType is the type field of a message header.
type MessageType uint8

// The message types.
const (
	TypeOpen         MessageType = 1
	TypeUpdate       MessageType = 2
	TypeNotification MessageType = 3
	TypeKeepalive    MessageType = 4
	TypeRouteRefresh MessageType = 5 // RFC 2918
)

func (t MessageType) String() string {
	switch t {
	case TypeOpen:
		return "OPEN"
	case TypeUpdate:
		return "UPDATE"
	case TypeNotification:
		return "NOTIFICATION"
	case TypeKeepalive:
		return "KEEPALIVE"
	case TypeRouteRefresh:
		return "ROUTE-REFRESH"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

const (
	// HeaderLen is the length of a message header: a 16-byte marker, the
	// 2-byte length of the whole message and the type.
	HeaderLen = 19
	// DefaultMaxMessageLen is the largest message RFC 4271 allows, and the
	// default of Limits.MaxMessageLen. RFC 8654's extended messages (up to
	// 65535 bytes) are accepted only when a larger limit is set.
	DefaultMaxMessageLen = 4096

	minOpenLen         = HeaderLen + 10
	minUpdateLen       = HeaderLen + 4
	minNotificationLen = HeaderLen + 2
	routeRefreshLen    = HeaderLen + 4
)

// AFI is an address family identifier.
type AFI uint16

// SAFI is a subsequent address family identifier.
type SAFI uint8

// The address families this package decodes routes of.
const (
	AFIIPv4     AFI  = 1
	AFIIPv6     AFI  = 2
	SAFIUnicast SAFI = 1
)

// Family is an AFI and a SAFI.
type Family struct {
	AFI  AFI
	SAFI SAFI
}

// IPv4Unicast and IPv6Unicast are the families whose routes this package
// decodes.
var (
	IPv4Unicast = Family{AFIIPv4, SAFIUnicast}
	IPv6Unicast = Family{AFIIPv6, SAFIUnicast}
)

func (f Family) String() string {
	switch f {
	case IPv4Unicast:
		return "ipv4-unicast"
	case IPv6Unicast:
		return "ipv6-unicast"
	}
	return fmt.Sprintf("afi %d safi %d", f.AFI, f.SAFI)
}

// A Message is one of *Open, *Update, *Notification, Keepalive and
// *RouteRefresh.
type Message interface {
	// Type returns the message's type.
	Type() MessageType
	// AppendMessage appends the whole message, header included, to dst.
	AppendMessage(dst []byte) []byte
}

// Keepalive is the KEEPALIVE message, a bare header.
type Keepalive struct{}

// Type returns TypeKeepalive.
func (Keepalive) Type() MessageType { return TypeKeepalive }

// AppendMessage appends the 19 bytes of a KEEPALIVE.
func (Keepalive) AppendMessage(dst []byte) []byte {
	return appendHeader(dst, TypeKeepalive)
}

// RouteRefresh is the ROUTE-REFRESH message (RFC 2918), with RFC 7313's
// subtype (0 request, 1 beginning of route refresh, 2 end of route refresh).
type RouteRefresh struct {
	Family  Family
	Subtype uint8
}

// Type returns TypeRouteRefresh.
func (*RouteRefresh) Type() MessageType { return TypeRouteRefresh }

// AppendMessage appends the message.
func (m *RouteRefresh) AppendMessage(dst []byte) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeRouteRefresh)
	dst = binary.BigEndian.AppendUint16(dst, uint16(m.Family.AFI))
	dst = append(dst, m.Subtype, uint8(m.Family.SAFI))
	return finishMessage(dst, start)
}

// appendHeader appends a header whose length finishMessage fills in.
func appendHeader(dst []byte, t MessageType) []byte {
	dst = append(dst, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, HeaderLen)
	return append(dst, byte(t))
}

// finishMessage writes the length of the message that starts at start.
func finishMessage(dst []byte, start int) []byte {
	binary.BigEndian.PutUint16(dst[start+16:], uint16(len(dst)-start))
	return dst
}

// Limits bounds what a peer may make a speaker hold. The zero value means
// every default.
type Limits struct {
	// MaxMessageLen is the longest message accepted, header included;
	// 0 means DefaultMaxMessageLen. Values above 65535 act as 65535.
	MaxMessageLen int
	// MaxPrefixes is how many prefixes a peer's Adj-RIB-In may hold, over
	// all families; 0 means DefaultMaxPrefixes. Past it the session ends
	// with Cease "Maximum Number of Prefixes Reached" (RFC 4486).
	MaxPrefixes int
}

// DefaultMaxPrefixes is the default of Limits.MaxPrefixes.
const DefaultMaxPrefixes = 2_000_000

func (l Limits) maxMessageLen() int {
	switch {
	case l.MaxMessageLen <= 0:
		return DefaultMaxMessageLen
	case l.MaxMessageLen > 65535:
		return 65535
	}
	return l.MaxMessageLen
}

func (l Limits) maxPrefixes() int {
	if l.MaxPrefixes <= 0 {
		return DefaultMaxPrefixes
	}
	return l.MaxPrefixes
}

// checkHeader validates the header at the start of b (at least HeaderLen
// bytes) as RFC 4271 §6.1 says, and returns the message's length and type.
func checkHeader(b []byte, maxLen int) (int, MessageType, error) {
	for _, c := range b[:16] {
		if c != 0xff {
			return 0, 0, newNotification(CodeHeader, SubConnectionNotSynchronized, nil)
		}
	}
	n := int(binary.BigEndian.Uint16(b[16:18]))
	t := MessageType(b[18])
	badLen := func() (int, MessageType, error) {
		return 0, 0, newNotification(CodeHeader, SubBadMessageLength, b[16:18])
	}
	if n < HeaderLen || n > maxLen {
		return badLen()
	}
	switch t {
	case TypeOpen:
		if n < minOpenLen {
			return badLen()
		}
	case TypeUpdate:
		if n < minUpdateLen {
			return badLen()
		}
	case TypeNotification:
		if n < minNotificationLen {
			return badLen()
		}
	case TypeKeepalive:
		if n != HeaderLen {
			return badLen()
		}
	case TypeRouteRefresh:
		if n < routeRefreshLen {
			return badLen()
		}
	default:
		return 0, 0, newNotification(CodeHeader, SubBadMessageType, b[18:19])
	}
	return n, t, nil
}

// ErrShort is returned by ParseMessage for fewer bytes than the header says.
var ErrShort = errors.New("bgp: message is incomplete")

// Options are what was negotiated with the peer that encoding and decoding need.
type Options struct {
	// AS4 says both sides sent the 4-octet AS capability: AS_PATH and
	// AGGREGATOR carry 4-octet AS numbers.
	AS4 bool
	// EBGP says the peer is in another AS: an AS_PATH with confederation
	// segments is then malformed (RFC 7606 §7.2).
	EBGP bool
	// Limits bound the message size.
	Limits Limits
}

// ParseMessage decodes the message at the start of b and returns it and its
// length. An error is a *Notification to send (an *UpdateError for UPDATE
// errors, whose Update may still be usable, see UpdateError), or ErrShort.
// The message may point into b.
func ParseMessage(b []byte, opts Options) (Message, int, error) {
	if len(b) < HeaderLen {
		return nil, 0, ErrShort
	}
	n, t, err := checkHeader(b, opts.Limits.maxMessageLen())
	if err != nil {
		return nil, 0, err
	}
	if len(b) < n {
		return nil, 0, ErrShort
	}
	body := b[HeaderLen:n]
	var m Message
	switch t {
	case TypeOpen:
		o := new(Open)
		err, m = o.decode(body), o
	case TypeUpdate:
		u := new(Update)
		err, m = u.Decode(body, opts), u
	case TypeNotification:
		m = &Notification{Code: body[0], Subcode: body[1], Data: body[2:]}
	case TypeKeepalive:
		m = Keepalive{}
	case TypeRouteRefresh:
		if len(body) != 4 {
			// RFC 7313 §5: no ORF support, so any other length is wrong.
			return nil, n, newNotification(CodeRouteRefresh, SubInvalidMessageLength, b[16:18])
		}
		m = &RouteRefresh{Family: Family{AFI(binary.BigEndian.Uint16(body)), SAFI(body[3])}, Subtype: body[2]}
	}
	return m, n, err
}

// framer cuts a stream of bytes into messages (basic's receivers cannot:
// a BGP length sits at offset 16 and counts the header). Whole messages in
// the data of one read are handed on in place; only a partial message is
// copied, into buf, bounded by the message limit.
type framer struct {
	buf []byte
}

// feed calls f with each whole message in buf followed by data, and keeps the
// rest. It stops at the first header error, or when f returns false.
func (fr *framer) feed(data []byte, maxLen int, f func(msg []byte) bool) error {
	if len(fr.buf) > 0 {
		if len(fr.buf) < HeaderLen {
			take := min(HeaderLen-len(fr.buf), len(data))
			fr.buf = append(fr.buf, data[:take]...)
			data = data[take:]
			if len(fr.buf) < HeaderLen {
				return nil
			}
		}
		n, _, err := checkHeader(fr.buf, maxLen)
		if err != nil {
			return err
		}
		take := min(n-len(fr.buf), len(data))
		fr.buf = append(fr.buf, data[:take]...)
		data = data[take:]
		if len(fr.buf) < n {
			return nil
		}
		ok := f(fr.buf)
		fr.release(maxLen)
		if !ok {
			return nil
		}
	}
	for len(data) >= HeaderLen {
		n, _, err := checkHeader(data, maxLen)
		if err != nil {
			return err
		}
		if len(data) < n {
			break
		}
		if !f(data[:n]) {
			return nil
		}
		data = data[n:]
	}
	fr.buf = append(fr.buf, data...)
	return nil
}

// release empties buf, dropping it if a big message grew it.
func (fr *framer) release(maxLen int) {
	fr.buf = fr.buf[:0]
	if cap(fr.buf) > 2*DefaultMaxMessageLen && cap(fr.buf) > maxLen {
		fr.buf = nil
	}
}

// partial reports whether part of a message is buffered.
func (fr *framer) partial() bool { return len(fr.buf) > 0 }
