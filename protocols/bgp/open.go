package bgp

import (
	"encoding/binary"
	"net/netip"
)

// ASTrans is the 2-octet AS number that stands for a 4-octet one (RFC 6793).
const ASTrans = 23456

// The capability codes this package knows (RFC 5492 and the registry).
const (
	CapMultiprotocol        = 1  // RFC 4760
	CapRouteRefresh         = 2  // RFC 2918
	CapExtendedMessage      = 6  // RFC 8654
	CapGracefulRestart      = 64 // RFC 4724
	CapAS4                  = 65 // RFC 6793
	CapAddPath              = 69 // RFC 7911
	CapEnhancedRouteRefresh = 70 // RFC 7313
	CapFQDN                 = 73 // draft-walton-bgp-hostname-capability
)

// Capability is one capability of an OPEN: its code and its value, kept as
// bytes so that unknown ones pass through. The typed constructors and
// accessors below build and read the known ones.
type Capability struct {
	Code  uint8
	Value []byte
}

// Open is the OPEN message.
type Open struct {
	// Version is 4; Append writes 4 when it is 0.
	Version uint8
	// MyAS is the 2-octet AS field: ASTrans for a 4-octet AS (see AS).
	MyAS uint16
	// HoldTime is the proposed hold time in seconds: 0 or at least 3.
	HoldTime uint16
	// ID is the BGP identifier, an IPv4 address.
	ID netip.Addr
	// Capabilities are carried in one Capabilities optional parameter.
	Capabilities []Capability
}

// NewOpen returns an OPEN for AS as, with the 4-octet AS capability and the
// others given.
func NewOpen(as uint32, holdTime uint16, id netip.Addr, caps ...Capability) *Open {
	my := uint16(ASTrans)
	if as <= 0xffff {
		my = uint16(as)
	}
	return &Open{Version: 4, MyAS: my, HoldTime: holdTime, ID: id,
		Capabilities: append([]Capability{AS4Capability(as)}, caps...)}
}

// Type returns TypeOpen.
func (*Open) Type() MessageType { return TypeOpen }

// AS returns the sender's AS: the 4-octet AS capability's if there is one,
// else MyAS.
func (o *Open) AS() uint32 {
	for _, c := range o.Capabilities {
		if as, ok := c.AS4(); ok {
			return as
		}
	}
	return uint32(o.MyAS)
}

// Capability returns the first capability with the code, if any.
func (o *Open) Capability(code uint8) (Capability, bool) {
	for _, c := range o.Capabilities {
		if c.Code == code {
			return c, true
		}
	}
	return Capability{}, false
}

// Families returns the families of the multiprotocol capabilities; an OPEN
// with none means IPv4 unicast only (RFC 4760 §8).
func (o *Open) Families() []Family {
	var fs []Family
	for _, c := range o.Capabilities {
		if f, ok := c.Multiprotocol(); ok {
			fs = append(fs, f)
		}
	}
	if fs == nil {
		fs = []Family{IPv4Unicast}
	}
	return fs
}

// AppendMessage appends the message. Capabilities that do not fit one
// optional parameter (255 bytes) go into further ones.
func (o *Open) AppendMessage(dst []byte) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeOpen)
	v := o.Version
	if v == 0 {
		v = 4
	}
	dst = append(dst, v)
	dst = binary.BigEndian.AppendUint16(dst, o.MyAS)
	dst = binary.BigEndian.AppendUint16(dst, o.HoldTime)
	id := o.ID.As4()
	dst = append(dst, id[:]...)
	optLenAt := len(dst)
	dst = append(dst, 0)
	paramAt := -1
	for _, c := range o.Capabilities {
		val := c.Value[:min(len(c.Value), 253)]
		if paramAt < 0 || len(dst)-paramAt-2+2+len(val) > 255 {
			paramAt = len(dst)
			dst = append(dst, 2, 0)
		}
		dst = append(dst, c.Code, byte(len(val)))
		dst = append(dst, val...)
		dst[paramAt+1] = byte(len(dst) - paramAt - 2)
	}
	dst[optLenAt] = byte(min(len(dst)-optLenAt-1, 255))
	return finishMessage(dst, start)
}

// decode parses the body of an OPEN (RFC 4271 §6.2, RFC 5492, RFC 9072).
func (o *Open) decode(b []byte) error {
	o.Version = b[0]
	if o.Version != 4 {
		return newNotification(CodeOpen, SubUnsupportedVersion, []byte{0, 4})
	}
	o.MyAS = binary.BigEndian.Uint16(b[1:])
	o.HoldTime = binary.BigEndian.Uint16(b[3:])
	if o.HoldTime == 1 || o.HoldTime == 2 {
		return newNotification(CodeOpen, SubUnacceptableHoldTime, nil)
	}
	o.ID = netip.AddrFrom4([4]byte(b[5:9]))
	if o.ID == netip.IPv4Unspecified() {
		return newNotification(CodeOpen, SubBadBGPIdentifier, nil)
	}
	malformed := newNotification(CodeOpen, 0, nil)
	optLen, params := int(b[9]), b[10:]
	lenSize := 1
	if optLen == 255 && len(params) >= 3 && params[0] == 255 {
		// RFC 9072's extended optional parameters length.
		optLen, params, lenSize = int(binary.BigEndian.Uint16(params[1:])), params[3:], 2
	}
	if optLen != len(params) {
		return malformed
	}
	for len(params) > 0 {
		if len(params) < 1+lenSize {
			return malformed
		}
		typ, n := params[0], int(params[1])
		if lenSize == 2 {
			n = int(binary.BigEndian.Uint16(params[1:]))
		}
		params = params[1+lenSize:]
		if n > len(params) {
			return malformed
		}
		if typ != 2 {
			return newNotification(CodeOpen, SubUnsupportedOptParam, nil)
		}
		caps := params[:n]
		params = params[n:]
		for len(caps) > 0 {
			if len(caps) < 2 || int(caps[1]) > len(caps)-2 {
				return malformed
			}
			c := Capability{Code: caps[0]}
			if caps[1] > 0 {
				c.Value = caps[2 : 2+int(caps[1])]
			}
			if !c.wellFormed() {
				return malformed
			}
			o.Capabilities = append(o.Capabilities, c)
			caps = caps[2+int(caps[1]):]
		}
	}
	return nil
}

// wellFormed checks the length of a known capability's value.
func (c Capability) wellFormed() bool {
	n := len(c.Value)
	switch c.Code {
	case CapMultiprotocol:
		return n == 4
	case CapRouteRefresh, CapEnhancedRouteRefresh, CapExtendedMessage:
		return n == 0
	case CapAS4:
		return n == 4
	case CapGracefulRestart:
		return n >= 2 && (n-2)%4 == 0
	case CapAddPath:
		return n > 0 && n%4 == 0
	case CapFQDN:
		_, _, ok := c.FQDN()
		return ok
	}
	return true
}

// MultiprotocolCapability returns the capability for family f.
func MultiprotocolCapability(f Family) Capability {
	return Capability{CapMultiprotocol, []byte{byte(f.AFI >> 8), byte(f.AFI), 0, byte(f.SAFI)}}
}

// Multiprotocol returns the family of a multiprotocol capability.
func (c Capability) Multiprotocol() (Family, bool) {
	if c.Code != CapMultiprotocol || len(c.Value) != 4 {
		return Family{}, false
	}
	return Family{AFI(binary.BigEndian.Uint16(c.Value)), SAFI(c.Value[3])}, true
}

// RouteRefreshCapability returns the route refresh capability.
func RouteRefreshCapability() Capability { return Capability{Code: CapRouteRefresh} }

// EnhancedRouteRefreshCapability returns the enhanced route refresh
// capability (RFC 7313).
func EnhancedRouteRefreshCapability() Capability { return Capability{Code: CapEnhancedRouteRefresh} }

// AS4Capability returns the 4-octet AS capability for as.
func AS4Capability(as uint32) Capability {
	return Capability{CapAS4, binary.BigEndian.AppendUint32(nil, as)}
}

// AS4 returns the AS of a 4-octet AS capability.
func (c Capability) AS4() (uint32, bool) {
	if c.Code != CapAS4 || len(c.Value) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(c.Value), true
}

// GracefulRestart is the value of the graceful restart capability.
type GracefulRestart struct {
	// Flags are the capability's 4 flag bits (R, N).
	Flags uint8
	// Time is the restart time in seconds (12 bits).
	Time uint16
	// Families are the families whose forwarding state is kept, each with
	// its flags (F).
	Families []GracefulRestartFamily
}

// GracefulRestartFamily is a family of the graceful restart capability.
type GracefulRestartFamily struct {
	Family Family
	Flags  uint8
}

// GracefulRestartCapability returns the capability for g.
func GracefulRestartCapability(g GracefulRestart) Capability {
	v := binary.BigEndian.AppendUint16(nil, uint16(g.Flags&0xf)<<12|g.Time&0xfff)
	for _, f := range g.Families {
		v = binary.BigEndian.AppendUint16(v, uint16(f.Family.AFI))
		v = append(v, byte(f.Family.SAFI), f.Flags)
	}
	return Capability{CapGracefulRestart, v}
}

// GracefulRestart decodes a graceful restart capability.
func (c Capability) GracefulRestart() (GracefulRestart, bool) {
	if c.Code != CapGracefulRestart || !c.wellFormed() {
		return GracefulRestart{}, false
	}
	h := binary.BigEndian.Uint16(c.Value)
	g := GracefulRestart{Flags: uint8(h >> 12), Time: h & 0xfff}
	for v := c.Value[2:]; len(v) >= 4; v = v[4:] {
		g.Families = append(g.Families, GracefulRestartFamily{
			Family{AFI(binary.BigEndian.Uint16(v)), SAFI(v[2])}, v[3]})
	}
	return g, true
}

// The send/receive values of an ADD-PATH family.
const (
	AddPathReceive = 1
	AddPathSend    = 2
	AddPathBoth    = 3
)

// AddPathFamily is a family of the ADD-PATH capability and its send/receive
// value.
type AddPathFamily struct {
	Family      Family
	SendReceive uint8
}

// AddPathCapability returns the ADD-PATH capability for the families.
func AddPathCapability(fs ...AddPathFamily) Capability {
	var v []byte
	for _, f := range fs {
		v = binary.BigEndian.AppendUint16(v, uint16(f.Family.AFI))
		v = append(v, byte(f.Family.SAFI), f.SendReceive)
	}
	return Capability{CapAddPath, v}
}

// AddPath decodes an ADD-PATH capability.
func (c Capability) AddPath() ([]AddPathFamily, bool) {
	if c.Code != CapAddPath || !c.wellFormed() {
		return nil, false
	}
	var fs []AddPathFamily
	for v := c.Value; len(v) >= 4; v = v[4:] {
		fs = append(fs, AddPathFamily{Family{AFI(binary.BigEndian.Uint16(v)), SAFI(v[2])}, v[3]})
	}
	return fs, true
}

// FQDNCapability returns the hostname capability; each name is cut to 255
// bytes.
func FQDNCapability(host, domain string) Capability {
	host, domain = host[:min(len(host), 255)], domain[:min(len(domain), 255)]
	v := append([]byte{byte(len(host))}, host...)
	v = append(append(v, byte(len(domain))), domain...)
	return Capability{CapFQDN, v[:min(len(v), 253)]}
}

// FQDN decodes a hostname capability.
func (c Capability) FQDN() (host, domain string, ok bool) {
	v := c.Value
	if c.Code != CapFQDN || len(v) < 1 || int(v[0])+2 > len(v) {
		return "", "", false
	}
	h := v[1 : 1+int(v[0])]
	v = v[1+int(v[0]):]
	if int(v[0])+1 != len(v) {
		return "", "", false
	}
	return string(h), string(v[1:]), true
}
