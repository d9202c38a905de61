package bgp

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// Action is how RFC 7606 handles a malformed UPDATE.
type Action uint8

// The approaches of RFC 7606 §2, from the most severe.
const (
	// SessionReset: send the NOTIFICATION and close the session.
	SessionReset Action = iota
	// TreatAsWithdraw: the UPDATE's routes are withdrawn, the session
	// stays up.
	TreatAsWithdraw
	// AttributeDiscard: the attribute is dropped, the rest of the UPDATE
	// stands.
	AttributeDiscard
)

func (a Action) String() string {
	switch a {
	case SessionReset:
		return "session reset"
	case TreatAsWithdraw:
		return "treat-as-withdraw"
	}
	return "attribute discard"
}

// UpdateError is a malformed UPDATE: the NOTIFICATION RFC 4271 §6.3
// prescribes, and the approach RFC 7606 takes instead. Only SessionReset
// sends the NOTIFICATION; for the others the decoded Update is usable (for
// TreatAsWithdraw every route of the UPDATE is in its Withdrawn).
type UpdateError struct {
	Action Action
	Notification
}

// Error describes the error and its approach.
func (e *UpdateError) Error() string {
	return "bgp: " + e.Notification.String() + " (" + e.Action.String() + ")"
}

// Unwrap returns the NOTIFICATION.
func (e *UpdateError) Unwrap() error { return &e.Notification }

func updateError(a Action, sub uint8, data []byte) *UpdateError {
	return &UpdateError{a, Notification{Code: CodeUpdate, Subcode: sub, Data: data}}
}

// UpdateReader reads an UPDATE's body in place, for the hot path: its
// iterators return the attributes and prefixes without copying or
// allocating. They check the framing of what they return but not the
// meaning; Update.Decode does both.
type UpdateReader struct {
	withdrawn, attrs, nlri []byte
}

// ReadUpdate checks the lengths of an UPDATE's body (the message without its
// header) and returns a reader over it. An error is an *UpdateError.
func ReadUpdate(body []byte) (UpdateReader, error) {
	if len(body) < 4 {
		return UpdateReader{}, updateError(SessionReset, SubMalformedAttributeList, nil)
	}
	wl := int(binary.BigEndian.Uint16(body))
	if 2+wl+2 > len(body) {
		return UpdateReader{}, updateError(SessionReset, SubMalformedAttributeList, nil)
	}
	al := int(binary.BigEndian.Uint16(body[2+wl:]))
	if 2+wl+2+al > len(body) {
		return UpdateReader{}, updateError(SessionReset, SubMalformedAttributeList, nil)
	}
	return UpdateReader{body[2 : 2+wl], body[4+wl : 4+wl+al], body[4+wl+al:]}, nil
}

// Withdrawn returns an iterator over the withdrawn IPv4 prefixes.
func (r UpdateReader) Withdrawn() PrefixIter {
	return PrefixIter{b: r.withdrawn, sub: SubInvalidNetworkField}
}

// NLRI returns an iterator over the announced IPv4 prefixes.
func (r UpdateReader) NLRI() PrefixIter {
	return PrefixIter{b: r.nlri, sub: SubInvalidNetworkField}
}

// Attributes returns an iterator over the path attributes.
func (r UpdateReader) Attributes() AttrIter { return AttrIter{b: r.attrs} }

// AttrIter iterates over path attributes in place.
type AttrIter struct {
	b   []byte
	err error
}

// Next returns the next attribute; its Value points into the message. It
// returns false at the end or at an attribute that overruns the list (then
// Err says so).
func (it *AttrIter) Next() (RawAttribute, bool) {
	if len(it.b) == 0 || it.err != nil {
		return RawAttribute{}, false
	}
	b := it.b
	if len(b) < 3 {
		return it.fail()
	}
	hl, n := 3, int(b[2])
	if b[0]&FlagExtendedLength != 0 {
		if len(b) < 4 {
			return it.fail()
		}
		hl, n = 4, int(binary.BigEndian.Uint16(b[2:]))
	}
	if hl+n > len(b) {
		return it.fail()
	}
	it.b = b[hl+n:]
	return RawAttribute{Flags: b[0], Type: b[1], Value: b[hl : hl+n]}, true
}

func (it *AttrIter) fail() (RawAttribute, bool) {
	// RFC 7606 §4: an attribute that overruns the list makes the UPDATE
	// treat-as-withdraw, the Total Attribute Length still locating the
	// NLRI; but if the broken attribute is the one that holds NLRI
	// (MP_REACH_NLRI, MP_UNREACH_NLRI), its routes cannot be found to be
	// withdrawn, and only a session reset is left (§3.j).
	action := TreatAsWithdraw
	if len(it.b) >= 2 && (it.b[1] == AttrMPReach || it.b[1] == AttrMPUnreach) {
		action = SessionReset
	}
	it.err = updateError(action, SubMalformedAttributeList, nil)
	return RawAttribute{}, false
}

// Err returns the error that ended the iteration, an *UpdateError, or nil.
func (it *AttrIter) Err() error { return it.err }

// PrefixIter iterates over prefixes in the wire form (a length in bits, then
// the bytes that hold them) in place.
type PrefixIter struct {
	b   []byte
	v6  bool
	sub uint8
	err error
}

// MPPrefixes returns an iterator over the prefixes of an MP_REACH_NLRI's
// NLRI or an MP_UNREACH_NLRI's withdrawn routes of family f.
func MPPrefixes(f Family, b []byte) PrefixIter {
	return PrefixIter{b: b, v6: f.AFI == AFIIPv6, sub: SubOptionalAttributeError}
}

// Next returns the next prefix, with the bits past its length cleared. It
// returns false at the end or at a malformed prefix (then Err says so).
func (it *PrefixIter) Next() (netip.Prefix, bool) {
	if len(it.b) == 0 || it.err != nil {
		return netip.Prefix{}, false
	}
	bits, max := int(it.b[0]), 32
	if it.v6 {
		max = 128
	}
	n := (bits + 7) / 8
	if bits > max || 1+n > len(it.b) {
		it.err = updateError(SessionReset, it.sub, nil)
		return netip.Prefix{}, false
	}
	var a [16]byte
	copy(a[:], it.b[1:1+n])
	if r := bits % 8; r != 0 {
		a[n-1] &= 0xff << (8 - r)
	}
	it.b = it.b[1+n:]
	if it.v6 {
		return netip.PrefixFrom(netip.AddrFrom16(a), bits), true
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte(a[:4])), bits), true
}

// Err returns the error that ended the iteration, an *UpdateError, or nil.
func (it *PrefixIter) Err() error { return it.err }

// appendPrefix appends p in the wire form.
func appendPrefix(dst []byte, p netip.Prefix) []byte {
	bits := p.Bits()
	dst = append(dst, byte(bits))
	if p.Addr().Is4() {
		a := p.Addr().As4()
		return append(dst, a[:(bits+7)/8]...)
	}
	a := p.Addr().As16()
	return append(dst, a[:(bits+7)/8]...)
}

func prefixLen(p netip.Prefix) int { return 1 + (p.Bits()+7)/8 }

// Update is the UPDATE message, with the routes of both families: IPv4
// prefixes travel in the classic fields, IPv6 ones in MP_REACH_NLRI and
// MP_UNREACH_NLRI.
type Update struct {
	Withdrawn []netip.Prefix
	// Attrs are the announced routes' attributes; nil when none are
	// announced.
	Attrs *Attributes
	NLRI  []netip.Prefix
	// EndOfRIB is set when the UPDATE is the End-of-RIB marker of a family
	// (RFC 4724): an empty UPDATE for IPv4, an empty MP_UNREACH_NLRI for
	// the others.
	EndOfRIB *Family
}

// Type returns TypeUpdate.
func (*Update) Type() MessageType { return TypeUpdate }

// Decode decodes an UPDATE's body (the message without its header) into u,
// as RFC 4271 §6.3 and RFC 7606 say. An error is an *UpdateError; unless its
// Action is SessionReset, u holds what is left to apply. u's slices are new,
// but unknown attributes' values point into body.
func (u *Update) Decode(body []byte, opts Options) error {
	*u = Update{}
	r, err := ReadUpdate(body)
	if err != nil {
		return err
	}
	d := updateDecoder{opts: opts}
	u.Withdrawn = d.prefixes(u.Withdrawn, r.Withdrawn())
	u.NLRI = d.prefixes(u.NLRI, r.NLRI())
	if d.worst != nil {
		return d.worst
	}
	classic := len(u.NLRI) > 0
	a := new(Attributes)
	it := r.Attributes()
	var path4 []ASPathSegment
	var agg4 *Aggregator
	var seen [8]uint32
	var mpReach, mpUnreach bool
	nattrs := 0
	for raw, ok := it.Next(); ok; raw, ok = it.Next() {
		nattrs++
		bit, word := uint32(1)<<(raw.Type%32), raw.Type/32
		if seen[word]&bit != 0 {
			if raw.Type == AttrMPReach || raw.Type == AttrMPUnreach {
				d.note(updateError(SessionReset, SubMalformedAttributeList, nil))
			}
			continue // RFC 7606 §3.g: repeats are discarded
		}
		seen[word] |= bit
		rule := attrRules[raw.Type]
		if !rule.known {
			switch {
			case raw.Flags&FlagOptional == 0:
				d.note(updateError(SessionReset, SubUnrecognizedWellKnownAttr, rawAttrBytes(raw)))
			case raw.Flags&FlagTransitive != 0:
				a.Unknown = append(a.Unknown, RawAttribute{raw.Flags &^ FlagExtendedLength, raw.Type, raw.Value})
			}
			continue
		}
		if raw.Flags&(FlagOptional|FlagTransitive) != rule.flags ||
			(raw.Flags&FlagPartial != 0 && rule.flags != FlagOptional|FlagTransitive) {
			action := rule.action
			switch raw.Type {
			case AttrMPReach, AttrMPUnreach:
				// RFC 7606 §3.c: treat-as-withdraw, which needs the
				// attribute's routes; only if they cannot be read is
				// the session reset.
				action = TreatAsWithdraw
				if raw.Type == AttrMPReach && !d.mpReach(u, new(Attributes), raw.Value) ||
					raw.Type == AttrMPUnreach && !d.mpUnreach(u, raw.Value) {
					action = SessionReset
				}
			}
			d.note(&UpdateError{action, Notification{CodeUpdate, SubAttributeFlagsError, rawAttrBytes(raw)}})
			continue
		}
		v := raw.Value
		bad := func() { d.note(&UpdateError{rule.action, Notification{CodeUpdate, rule.sub, rawAttrBytes(raw)}}) }
		switch raw.Type {
		case AttrOrigin:
			if len(v) != 1 || v[0] > OriginIncomplete {
				bad()
				continue
			}
			a.Origin = v[0]
		case AttrASPath:
			asSize := 2
			if opts.AS4 {
				asSize = 4
			}
			segs, ok := decodeASPath(v, asSize)
			for _, s := range segs {
				ok = ok && !(opts.EBGP && (s.Type == ASConfedSequence || s.Type == ASConfedSet))
			}
			if !ok {
				bad()
				continue
			}
			a.ASPath = segs
		case AttrNextHop:
			if len(v) != 4 {
				d.note(updateError(TreatAsWithdraw, SubAttributeLengthError, rawAttrBytes(raw)))
				continue
			}
			// Not a host's address: "this network" (0/8), multicast and
			// reserved (224/3, broadcast included).
			if v[0] == 0 || v[0] >= 224 {
				bad()
				continue
			}
			a.NextHop = netip.AddrFrom4([4]byte(v))
		case AttrMED, AttrLocalPref:
			if len(v) != 4 {
				bad()
				continue
			}
			if raw.Type == AttrMED {
				a.MED, a.HasMED = binary.BigEndian.Uint32(v), true
			} else {
				a.LocalPref, a.HasLocalPref = binary.BigEndian.Uint32(v), true
			}
		case AttrAtomicAggregate:
			if len(v) != 0 {
				bad()
				continue
			}
			a.AtomicAggregate = true
		case AttrAggregator, AttrAS4Aggregator:
			asSize := 2
			if opts.AS4 || raw.Type == AttrAS4Aggregator {
				asSize = 4
			}
			if len(v) != asSize+4 {
				bad()
				continue
			}
			g := &Aggregator{AS: uint32(binary.BigEndian.Uint16(v)), Addr: netip.AddrFrom4([4]byte(v[asSize:]))}
			if asSize == 4 {
				g.AS = binary.BigEndian.Uint32(v)
			}
			if raw.Type == AttrAggregator {
				a.Aggregator = g
			} else if !opts.AS4 {
				agg4 = g
			}
		case AttrCommunities:
			if len(v) == 0 || len(v)%4 != 0 {
				bad()
				continue
			}
			a.Communities = make([]uint32, len(v)/4)
			for i := range a.Communities {
				a.Communities[i] = binary.BigEndian.Uint32(v[4*i:])
			}
		case AttrLargeCommunity:
			if len(v) == 0 || len(v)%12 != 0 {
				bad()
				continue
			}
			a.LargeCommunities = make([]LargeCommunity, len(v)/12)
			for i := range a.LargeCommunities {
				c := v[12*i:]
				a.LargeCommunities[i] = LargeCommunity{binary.BigEndian.Uint32(c),
					binary.BigEndian.Uint32(c[4:]), binary.BigEndian.Uint32(c[8:])}
			}
		case AttrAS4Path:
			segs, ok := decodeASPath(v, 4)
			if ok {
				for _, s := range segs {
					ok = ok && (s.Type == ASSet || s.Type == ASSequence)
				}
			}
			if !ok {
				bad()
				continue
			}
			if !opts.AS4 {
				path4 = segs
			}
		case AttrMPReach:
			mpReach = true
			if !d.mpReach(u, a, v) {
				bad()
			}
		case AttrMPUnreach:
			mpUnreach = true
			if !d.mpUnreach(u, v) {
				bad()
			}
		}
	}
	if err := it.Err(); err != nil {
		d.note(err.(*UpdateError))
	}
	if d.worst != nil && d.worst.Action == SessionReset {
		return d.worst
	}
	if path4 != nil {
		a.ASPath = mergeAS4Path(a.ASPath, path4)
	}
	if agg4 != nil && a.Aggregator != nil && a.Aggregator.AS == ASTrans {
		a.Aggregator = agg4
	}
	if classic || mpReach {
		missing := func(t uint8) { d.note(updateError(TreatAsWithdraw, SubMissingWellKnownAttr, []byte{t})) }
		if seen[0]&(1<<AttrOrigin) == 0 {
			missing(AttrOrigin)
		}
		if seen[0]&(1<<AttrASPath) == 0 {
			missing(AttrASPath)
		}
		if classic && seen[0]&(1<<AttrNextHop) == 0 {
			missing(AttrNextHop)
		}
		u.Attrs = a
	}
	switch {
	case d.worst != nil && d.worst.Action == TreatAsWithdraw:
		u.Withdrawn = append(u.Withdrawn, u.NLRI...)
		u.NLRI, u.Attrs = nil, nil
	case len(u.Withdrawn) == 0 && len(u.NLRI) == 0 && nattrs == 0:
		f := IPv4Unicast
		u.EndOfRIB = &f
	case nattrs == 1 && mpUnreach && d.eor != nil:
		u.EndOfRIB = d.eor
	}
	if d.worst != nil {
		return d.worst
	}
	return nil
}

// updateDecoder keeps the most severe error met while decoding an UPDATE.
type updateDecoder struct {
	opts  Options
	worst *UpdateError
	eor   *Family
}

func (d *updateDecoder) note(e *UpdateError) {
	if d.worst == nil || e.Action < d.worst.Action {
		d.worst = e
	}
}

func (d *updateDecoder) prefixes(dst []netip.Prefix, it PrefixIter) []netip.Prefix {
	// Count first, so that the slice is allocated once: growing it is
	// most of the cost of a big UPDATE otherwise.
	n, count := 0, it
	for _, ok := count.Next(); ok; _, ok = count.Next() {
		n++
	}
	dst = slices.Grow(dst, n)
	for p, ok := it.Next(); ok; p, ok = it.Next() {
		dst = append(dst, p)
	}
	if err := it.Err(); err != nil {
		d.note(err.(*UpdateError))
	}
	return dst
}

// mpReach decodes an MP_REACH_NLRI value: routes of families other than
// IPv4 and IPv6 unicast are skipped.
func (d *updateDecoder) mpReach(u *Update, a *Attributes, v []byte) bool {
	if len(v) < 5 || 5+int(v[3]) > len(v) {
		return false
	}
	f := Family{AFI(binary.BigEndian.Uint16(v)), SAFI(v[2])}
	nh, nlri := v[4:4+int(v[3])], v[5+int(v[3]):]
	switch f {
	case IPv6Unicast:
		switch len(nh) {
		case 32:
			a.NextHopLinkLocal = netip.AddrFrom16([16]byte(nh[16:]))
			fallthrough
		case 16:
			a.NextHop6 = netip.AddrFrom16([16]byte(nh[:16]))
		default:
			return false
		}
	case IPv4Unicast:
		if len(nh) != 4 {
			return false
		}
		a.NextHop = netip.AddrFrom4([4]byte(nh))
	default:
		return true
	}
	u.NLRI = d.prefixes(u.NLRI, MPPrefixes(f, nlri))
	return true
}

func (d *updateDecoder) mpUnreach(u *Update, v []byte) bool {
	if len(v) < 3 {
		return false
	}
	f := Family{AFI(binary.BigEndian.Uint16(v)), SAFI(v[2])}
	if len(v) == 3 {
		d.eor = &f
	}
	if f != IPv4Unicast && f != IPv6Unicast {
		return true
	}
	u.Withdrawn = d.prefixes(u.Withdrawn, MPPrefixes(f, v[3:]))
	return true
}

// AppendMessage appends the UPDATE for a peer that has 4-octet AS numbers
// (Append with Options{AS4: true}).
func (u *Update) AppendMessage(dst []byte) []byte {
	return u.Append(dst, Options{AS4: true})
}

// Append appends the UPDATE as it goes to a peer with the options
// negotiated. The caller keeps it within the peer's message size; Peer
// splits its announcements so that they are. Attrs must be set when NLRI is.
func (u *Update) Append(dst []byte, opts Options) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeUpdate)
	wAt := len(dst)
	dst = append(dst, 0, 0)
	var w6, n4, n6 bool
	for _, p := range u.Withdrawn {
		if p.Addr().Is4() {
			dst = appendPrefix(dst, p)
		} else {
			w6 = true
		}
	}
	binary.BigEndian.PutUint16(dst[wAt:], uint16(len(dst)-wAt-2))
	for _, p := range u.NLRI {
		if p.Addr().Is4() {
			n4 = true
		} else {
			n6 = true
		}
	}
	aAt := len(dst)
	dst = append(dst, 0, 0)
	if u.Attrs != nil && (n4 || n6) {
		dst = u.Attrs.appendAttributes(dst, opts.AS4, n4)
	}
	if n6 {
		w := attrWriter{dst: dst}
		w.begin(FlagOptional, AttrMPReach)
		w.dst = append(w.dst, 0, byte(AFIIPv6), byte(SAFIUnicast))
		nh := u.Attrs.NextHop6.As16()
		if u.Attrs.NextHopLinkLocal.IsValid() {
			ll := u.Attrs.NextHopLinkLocal.As16()
			w.dst = append(append(append(w.dst, 32), nh[:]...), ll[:]...)
		} else {
			w.dst = append(append(w.dst, 16), nh[:]...)
		}
		w.dst = append(w.dst, 0)
		for _, p := range u.NLRI {
			if p.Addr().Is6() {
				w.dst = appendPrefix(w.dst, p)
			}
		}
		w.end()
		dst = w.dst
	}
	if w6 || (u.EndOfRIB != nil && *u.EndOfRIB != IPv4Unicast) {
		w := attrWriter{dst: dst}
		w.begin(FlagOptional, AttrMPUnreach)
		f := IPv6Unicast
		if u.EndOfRIB != nil {
			f = *u.EndOfRIB
		}
		w.dst = binary.BigEndian.AppendUint16(w.dst, uint16(f.AFI))
		w.dst = append(w.dst, byte(f.SAFI))
		for _, p := range u.Withdrawn {
			if p.Addr().Is6() {
				w.dst = appendPrefix(w.dst, p)
			}
		}
		w.end()
		dst = w.dst
	}
	binary.BigEndian.PutUint16(dst[aAt:], uint16(len(dst)-aAt-2))
	for _, p := range u.NLRI {
		if p.Addr().Is4() {
			dst = appendPrefix(dst, p)
		}
	}
	return finishMessage(dst, start)
}
