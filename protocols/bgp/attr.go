package bgp

import (
	"encoding/binary"
	"net/netip"
)

// The path attribute type codes this package decodes.
const (
	AttrOrigin          = 1
	AttrASPath          = 2
	AttrNextHop         = 3
	AttrMED             = 4
	AttrLocalPref       = 5
	AttrAtomicAggregate = 6
	AttrAggregator      = 7
	AttrCommunities     = 8
	AttrMPReach         = 14 // RFC 4760
	AttrMPUnreach       = 15
	AttrAS4Path         = 17 // RFC 6793
	AttrAS4Aggregator   = 18
	AttrLargeCommunity  = 32 // RFC 8092
)

// The attribute flags.
const (
	FlagOptional       = 0x80
	FlagTransitive     = 0x40
	FlagPartial        = 0x20
	FlagExtendedLength = 0x10
)

// The ORIGIN values.
const (
	OriginIGP        = 0
	OriginEGP        = 1
	OriginIncomplete = 2
)

// The AS_PATH segment types.
const (
	ASSet            = 1
	ASSequence       = 2
	ASConfedSequence = 3 // RFC 5065
	ASConfedSet      = 4
)

// ASPathSegment is a segment of an AS_PATH.
type ASPathSegment struct {
	Type uint8
	ASNs []uint32
}

// Aggregator is the AGGREGATOR attribute.
type Aggregator struct {
	AS   uint32
	Addr netip.Addr
}

// LargeCommunity is a large community (RFC 8092).
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

// RawAttribute is a path attribute as it is on the wire.
type RawAttribute struct {
	Flags uint8
	Type  uint8
	Value []byte
}

// Attributes are the path attributes of an UPDATE's routes. A decoded
// Attributes is shared by every route of its UPDATE: treat it as read-only.
type Attributes struct {
	Origin uint8
	ASPath []ASPathSegment
	// NextHop is the NEXT_HOP attribute, for IPv4 routes.
	NextHop netip.Addr
	// NextHop6 and NextHopLinkLocal are MP_REACH_NLRI's next hops, for
	// IPv6 routes.
	NextHop6, NextHopLinkLocal netip.Addr
	MED                        uint32
	HasMED                     bool
	LocalPref                  uint32
	HasLocalPref               bool
	AtomicAggregate            bool
	Aggregator                 *Aggregator
	Communities                []uint32
	LargeCommunities           []LargeCommunity
	// Unknown are the optional transitive attributes this package does not
	// know, carried through; they are sent on with the Partial flag set.
	Unknown []RawAttribute
}

// ASPathLen returns the path's length as best-path selection counts it: a
// set counts one, confederation segments none.
func (a *Attributes) ASPathLen() int {
	return pathLen(a.ASPath)
}

func pathLen(segs []ASPathSegment) int {
	n := 0
	for _, s := range segs {
		switch s.Type {
		case ASSequence:
			n += len(s.ASNs)
		case ASSet:
			n++
		}
	}
	return n
}

// attrRule is what RFC 4271 and RFC 7606 say about a known attribute: its
// flags, and the approach to take when it is malformed.
type attrRule struct {
	known  bool
	flags  uint8 // FlagOptional|FlagTransitive as they must be
	action Action
	sub    uint8 // the subcode for a malformed value
}

var attrRules = [256]attrRule{
	AttrOrigin:          {true, FlagTransitive, TreatAsWithdraw, SubInvalidOrigin},
	AttrASPath:          {true, FlagTransitive, TreatAsWithdraw, SubMalformedASPath},
	AttrNextHop:         {true, FlagTransitive, TreatAsWithdraw, SubInvalidNextHop},
	AttrMED:             {true, FlagOptional, TreatAsWithdraw, SubAttributeLengthError},
	AttrLocalPref:       {true, FlagTransitive, TreatAsWithdraw, SubAttributeLengthError},
	AttrAtomicAggregate: {true, FlagTransitive, AttributeDiscard, SubAttributeLengthError},
	AttrAggregator:      {true, FlagOptional | FlagTransitive, AttributeDiscard, SubAttributeLengthError},
	AttrCommunities:     {true, FlagOptional | FlagTransitive, TreatAsWithdraw, SubAttributeLengthError},
	AttrMPReach:         {true, FlagOptional, SessionReset, SubOptionalAttributeError},
	AttrMPUnreach:       {true, FlagOptional, SessionReset, SubOptionalAttributeError},
	AttrAS4Path:         {true, FlagOptional | FlagTransitive, AttributeDiscard, SubMalformedASPath},
	AttrAS4Aggregator:   {true, FlagOptional | FlagTransitive, AttributeDiscard, SubAttributeLengthError},
	AttrLargeCommunity:  {true, FlagOptional | FlagTransitive, TreatAsWithdraw, SubAttributeLengthError},
}

// rawAttrBytes returns the attribute's wire form, for a NOTIFICATION's data.
func rawAttrBytes(a RawAttribute) []byte {
	return appendAttr(nil, a.Flags&^FlagExtendedLength, a.Type, a.Value)
}

// decodeAS4Path decodes an AS_PATH or AS4_PATH value with AS numbers of
// asSize bytes, without recursion, allocating one array for all the AS
// numbers.
func decodeASPath(v []byte, asSize int) ([]ASPathSegment, bool) {
	nseg, nas := 0, 0
	for rest := v; len(rest) > 0; {
		if len(rest) < 2 || rest[1] == 0 || rest[0] < ASSet || rest[0] > ASConfedSet {
			return nil, false
		}
		l := 2 + int(rest[1])*asSize
		if l > len(rest) {
			return nil, false
		}
		nseg, nas, rest = nseg+1, nas+int(rest[1]), rest[l:]
	}
	segs := make([]ASPathSegment, 0, nseg)
	all := make([]uint32, nas)
	for len(v) > 0 {
		n := int(v[1])
		s := ASPathSegment{Type: v[0], ASNs: all[:n:n]}
		all = all[n:]
		for i := range n {
			if asSize == 4 {
				s.ASNs[i] = binary.BigEndian.Uint32(v[2+4*i:])
			} else {
				s.ASNs[i] = uint32(binary.BigEndian.Uint16(v[2+2*i:]))
			}
		}
		segs = append(segs, s)
		v = v[2+n*asSize:]
	}
	return segs, true
}

// mergeAS4Path rebuilds the path from a 2-octet AS_PATH and an AS4_PATH as
// RFC 6793 §4.2.3 says: the AS4_PATH replaces the tail of the AS_PATH it
// stands for, and is ignored if it is longer than the AS_PATH.
func mergeAS4Path(path, path4 []ASPathSegment) []ASPathSegment {
	keep := pathLen(path) - pathLen(path4)
	if keep < 0 {
		return path
	}
	var out []ASPathSegment
	for _, s := range path {
		if keep == 0 {
			break
		}
		switch s.Type {
		case ASSequence:
			n := min(keep, len(s.ASNs))
			out = append(out, ASPathSegment{ASSequence, s.ASNs[:n:n]})
			keep -= n
		case ASSet:
			out = append(out, s)
			keep--
		default:
			out = append(out, s)
		}
	}
	return append(out, path4...)
}

// appendAttr appends an attribute, with the extended length flag if the
// value needs it.
func appendAttr(dst []byte, flags, typ uint8, v []byte) []byte {
	if len(v) > 255 {
		dst = append(dst, flags|FlagExtendedLength, typ)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	} else {
		dst = append(dst, flags&^FlagExtendedLength, typ, byte(len(v)))
	}
	return append(dst, v...)
}

// attrWriter appends attributes whose values are built in place.
type attrWriter struct {
	dst   []byte
	start int
}

// begin starts an attribute; end fills in its length, moving the value up
// two bytes if it needs the extended length.
func (w *attrWriter) begin(flags, typ uint8) {
	w.dst = append(w.dst, flags&^FlagExtendedLength, typ, 0)
	w.start = len(w.dst)
}

func (w *attrWriter) end() {
	n := len(w.dst) - w.start
	if n <= 255 {
		w.dst[w.start-1] = byte(n)
		return
	}
	w.dst[w.start-3] |= FlagExtendedLength
	w.dst = append(w.dst, 0)
	copy(w.dst[w.start+1:], w.dst[w.start:w.start+n])
	binary.BigEndian.PutUint16(w.dst[w.start-1:], uint16(n))
}

// appendASPath appends the segments' value with AS numbers of asSize bytes
// (ASTrans for those that do not fit 2), splitting long segments.
func appendASPath(dst []byte, segs []ASPathSegment, asSize int) []byte {
	for _, s := range segs {
		for asns := s.ASNs; len(asns) > 0; {
			n := min(len(asns), 255)
			dst = append(dst, s.Type, byte(n))
			for _, as := range asns[:n] {
				if asSize == 4 {
					dst = binary.BigEndian.AppendUint32(dst, as)
				} else {
					dst = binary.BigEndian.AppendUint16(dst, as2(as))
				}
			}
			asns = asns[n:]
		}
	}
	return dst
}

func as2(as uint32) uint16 {
	if as > 0xffff {
		return ASTrans
	}
	return uint16(as)
}

func needsAS4(segs []ASPathSegment) bool {
	for _, s := range segs {
		for _, as := range s.ASNs {
			if as > 0xffff {
				return true
			}
		}
	}
	return false
}

// appendAttributes appends the path attributes in type order, except
// MP_REACH_NLRI, which the caller adds with appendMPReach when needed.
// NEXT_HOP is written only when withNextHop.
func (a *Attributes) appendAttributes(dst []byte, as4, withNextHop bool) []byte {
	w := attrWriter{dst: dst}
	w.dst = appendAttr(w.dst, FlagTransitive, AttrOrigin, []byte{a.Origin})
	asSize := 2
	if as4 {
		asSize = 4
	}
	w.begin(FlagTransitive, AttrASPath)
	w.dst = appendASPath(w.dst, a.ASPath, asSize)
	w.end()
	if withNextHop {
		nh := a.NextHop.As4()
		w.dst = appendAttr(w.dst, FlagTransitive, AttrNextHop, nh[:])
	}
	var u32 [4]byte
	if a.HasMED {
		binary.BigEndian.PutUint32(u32[:], a.MED)
		w.dst = appendAttr(w.dst, FlagOptional, AttrMED, u32[:])
	}
	if a.HasLocalPref {
		binary.BigEndian.PutUint32(u32[:], a.LocalPref)
		w.dst = appendAttr(w.dst, FlagTransitive, AttrLocalPref, u32[:])
	}
	if a.AtomicAggregate {
		w.dst = appendAttr(w.dst, FlagTransitive, AttrAtomicAggregate, nil)
	}
	if g := a.Aggregator; g != nil {
		w.begin(FlagOptional|FlagTransitive, AttrAggregator)
		if as4 {
			w.dst = binary.BigEndian.AppendUint32(w.dst, g.AS)
		} else {
			w.dst = binary.BigEndian.AppendUint16(w.dst, as2(g.AS))
		}
		ip := g.Addr.As4()
		w.dst = append(w.dst, ip[:]...)
		w.end()
	}
	if len(a.Communities) > 0 {
		w.begin(FlagOptional|FlagTransitive, AttrCommunities)
		for _, c := range a.Communities {
			w.dst = binary.BigEndian.AppendUint32(w.dst, c)
		}
		w.end()
	}
	if !as4 && needsAS4(a.ASPath) {
		w.begin(FlagOptional|FlagTransitive, AttrAS4Path)
		w.dst = appendASPath(w.dst, a.ASPath, 4)
		w.end()
	}
	if g := a.Aggregator; !as4 && g != nil && g.AS > 0xffff {
		ip := g.Addr.As4()
		v := binary.BigEndian.AppendUint32(u32[:0:0], g.AS)
		w.dst = appendAttr(w.dst, FlagOptional|FlagTransitive, AttrAS4Aggregator, append(v, ip[:]...))
	}
	if len(a.LargeCommunities) > 0 {
		w.begin(FlagOptional|FlagTransitive, AttrLargeCommunity)
		for _, c := range a.LargeCommunities {
			w.dst = binary.BigEndian.AppendUint32(w.dst, c.Global)
			w.dst = binary.BigEndian.AppendUint32(w.dst, c.Local1)
			w.dst = binary.BigEndian.AppendUint32(w.dst, c.Local2)
		}
		w.end()
	}
	for _, u := range a.Unknown {
		w.dst = appendAttr(w.dst, u.Flags|FlagPartial, u.Type, u.Value)
	}
	return w.dst
}
