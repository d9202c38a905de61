package gobgpdiff

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/twistgo/twist/protocols/bgp"
)

// routes is what an UPDATE decodes to, in a form both decoders produce.
type routes struct {
	reset     bool     // the session is reset
	subcode   uint8    // the NOTIFICATION's, for a reset
	why       string   // GoBGP's error message
	withdraw  bool     // the UPDATE is treated as withdraw
	nlri      []string // announced prefixes, sorted
	withdrawn []string
	attrs     string // ORIGIN, NEXT_HOP, MED, LOCAL_PREF, communities, large communities
	path      string // AS_PATH; "" when GoBGP took it for 2-octet ASes
}

func sorted(ps []string) []string {
	slices.Sort(ps)
	return slices.Compact(ps)
}

// ours decodes msg with protocols/bgp, from an eBGP peer with 4-octet ASes.
func ours(msg []byte) (routes, bool) {
	m, _, err := bgp.ParseMessage(msg, bgp.Options{AS4: true, EBGP: true})
	var r routes
	var ue *bgp.UpdateError
	if _, isUpdate := m.(*bgp.Update); !isUpdate || err != nil && !errors.As(err, &ue) {
		return r, false // not an UPDATE, or its header is wrong
	}
	if ue != nil && ue.Action == bgp.SessionReset {
		r.reset, r.subcode = true, ue.Subcode
		return r, true
	}
	u := m.(*bgp.Update)
	r.withdraw = ue != nil && ue.Action == bgp.TreatAsWithdraw
	for _, p := range u.NLRI {
		r.nlri = append(r.nlri, p.String())
	}
	for _, p := range u.Withdrawn {
		r.withdrawn = append(r.withdrawn, p.String())
	}
	r.nlri, r.withdrawn = sorted(r.nlri), sorted(r.withdrawn)
	if a := u.Attrs; a != nil {
		var large []string
		for _, c := range a.LargeCommunities {
			large = append(large, fmt.Sprintf("%d:%d:%d", c.Global, c.Local1, c.Local2))
		}
		med, lp := "-", "-"
		if a.HasMED {
			med = fmt.Sprint(a.MED)
		}
		if a.HasLocalPref {
			lp = fmt.Sprint(a.LocalPref)
		}
		nh := ""
		if a.NextHop.IsValid() {
			nh = a.NextHop.String()
		}
		r.attrs = fmt.Sprintf("origin %d nh %s med %s lp %s comm %v large %v", a.Origin, nh, med, lp, a.Communities, large)
		r.path = fmt.Sprint(a.ASPath)
	}
	return r, true
}

// theirs decodes msg with GoBGP's packet package and its RFC 7606 checks.
func theirs(msg []byte) (r routes, ok bool) {
	defer func() {
		if recover() != nil {
			r, ok = routes{reset: true}, true // GoBGP panicked: count it as a reset
		}
	}()
	m, err := gobgp.ParseBGPMessage(msg)
	if m == nil || m.Header.Type != gobgp.BGP_MSG_UPDATE {
		return r, false
	}
	u := m.Body.(*gobgp.BGPUpdate)
	handling := func(err error) gobgp.ErrorHandling {
		var me *gobgp.MessageError
		if errors.As(err, &me) {
			r.why = me.Message
			return me.ErrorHandling
		}
		return gobgp.ERROR_HANDLING_SESSION_RESET
	}
	validate := err == nil
	if err != nil {
		switch handling(err) {
		case gobgp.ERROR_HANDLING_TREAT_AS_WITHDRAW:
			r.withdraw = true
		case gobgp.ERROR_HANDLING_ATTRIBUTE_DISCARD, gobgp.ERROR_HANDLING_NONE:
			validate = true // the rest of the UPDATE stands: check it
		default:
			r.reset = true
			return r, true
		}
	}
	// The RFC 7606 checks run on what parsed, unless it is withdrawn anyway.
	rfs := map[gobgp.RouteFamily]gobgp.BGPAddPathMode{gobgp.RF_IPv4_UC: gobgp.BGP_ADD_PATH_NONE, gobgp.RF_IPv6_UC: gobgp.BGP_ADD_PATH_NONE}
	if validate {
		if ok, err := gobgp.ValidateUpdateMsg(u, rfs, true, false, true); !ok {
			switch handling(err) {
			case gobgp.ERROR_HANDLING_TREAT_AS_WITHDRAW:
				r.withdraw = true
			case gobgp.ERROR_HANDLING_ATTRIBUTE_DISCARD, gobgp.ERROR_HANDLING_NONE:
			default:
				r.reset = true
				return r, true
			}
		}
	}
	for _, p := range u.NLRI {
		r.nlri = append(r.nlri, p.String())
	}
	for _, p := range u.WithdrawnRoutes {
		r.withdrawn = append(r.withdrawn, p.String())
	}
	origin, nh, med, lp := -1, "", "-", "-"
	var comm []uint32
	var large []string
	hasPathAttrs := false
	for _, a := range u.PathAttributes {
		switch a := a.(type) {
		case *gobgp.PathAttributeOrigin:
			origin, hasPathAttrs = int(a.Value), true
		case *gobgp.PathAttributeNextHop:
			nh = a.Value.String()
		case *gobgp.PathAttributeMultiExitDisc:
			med = fmt.Sprint(a.Value)
		case *gobgp.PathAttributeLocalPref:
			lp = fmt.Sprint(a.Value)
		case *gobgp.PathAttributeCommunities:
			comm = a.Value
		case *gobgp.PathAttributeLargeCommunities:
			for _, c := range a.Values {
				large = append(large, fmt.Sprintf("%d:%d:%d", c.ASN, c.LocalData1, c.LocalData2))
			}
		case *gobgp.PathAttributeMpReachNLRI:
			if a.AFI == gobgp.AFI_IP6 && a.SAFI == gobgp.SAFI_UNICAST || a.AFI == gobgp.AFI_IP && a.SAFI == gobgp.SAFI_UNICAST {
				for _, p := range a.Value {
					r.nlri = append(r.nlri, p.String())
				}
			}
		case *gobgp.PathAttributeMpUnreachNLRI:
			if a.AFI == gobgp.AFI_IP6 && a.SAFI == gobgp.SAFI_UNICAST || a.AFI == gobgp.AFI_IP && a.SAFI == gobgp.SAFI_UNICAST {
				for _, p := range a.Value {
					r.withdrawn = append(r.withdrawn, p.String())
				}
			}
		}
	}
	r.nlri, r.withdrawn = sorted(r.nlri), sorted(r.withdrawn)
	if hasPathAttrs || len(r.nlri) > 0 {
		r.attrs = fmt.Sprintf("origin %d nh %s med %s lp %s comm %v large %v", max(origin, 0), nh, med, lp, comm, large)
	}
	return r, true
}

// attrQuirks reports whether an attribute of the UPDATE overruns the list,
// whether one has any of the four unused low flag bits set, and whether one
// appears twice, and whether an MP attribute is of a family other than IPv4
// and IPv6 unicast or has the wrong flags.
func attrQuirks(msg []byte) (overrun, lowBits, repeated, otherFamily bool) {
	r, err := bgp.ReadUpdate(msg[bgp.HeaderLen:])
	if err != nil {
		return false, false, false, false
	}
	var seen [256]bool
	it := r.Attributes()
	for a, ok := it.Next(); ok; a, ok = it.Next() {
		lowBits = lowBits || a.Flags&0x0f != 0
		repeated = repeated || seen[a.Type]
		seen[a.Type] = true
		if (a.Type == bgp.AttrMPReach || a.Type == bgp.AttrMPUnreach) && len(a.Value) >= 3 {
			f := bgp.Family{AFI: bgp.AFI(a.Value[0])<<8 | bgp.AFI(a.Value[1]), SAFI: bgp.SAFI(a.Value[2])}
			otherFamily = otherFamily || f != bgp.IPv4Unicast && f != bgp.IPv6Unicast
			// GoBGP drops an MP attribute whose flags are wrong, where RFC
			// 7606 §3.c withdraws its routes: counted as a quirk too.
			otherFamily = otherFamily || a.Flags&(bgp.FlagOptional|bgp.FlagTransitive) != bgp.FlagOptional
		}
	}
	return it.Err() != nil, lowBits, repeated, otherFamily
}

// normalize maps an outcome to what it does to a RIB.
func normalize(r routes) routes {
	r.subcode, r.why = 0, ""
	if r.withdraw {
		// What it does to a RIB: withdraw everything, announce nothing.
		return routes{withdrawn: sorted(append(r.withdrawn, r.nlri...))}
	}
	if len(r.nlri) == 0 {
		r.attrs, r.path = "", ""
	}
	r.path = ""
	return r
}

func seeds() [][]byte {
	a := &bgp.Attributes{Origin: bgp.OriginIGP, NextHop: netip.MustParseAddr("192.0.2.1"),
		ASPath: []bgp.ASPathSegment{{Type: bgp.ASSequence, ASNs: []uint32{65001, 4200000000}}},
		MED:    7, HasMED: true, LocalPref: 100, HasLocalPref: true, Communities: []uint32{65001<<16 | 1},
		LargeCommunities: []bgp.LargeCommunity{{Global: 1, Local1: 2, Local2: 3}},
		NextHop6:         netip.MustParseAddr("2001:db8::1")}
	p := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	return [][]byte{
		(&bgp.Update{Attrs: a, NLRI: p("10.0.0.0/8", "192.0.2.0/24")}).AppendMessage(nil),
		(&bgp.Update{Attrs: a, NLRI: p("2001:db8::/32")}).AppendMessage(nil),
		(&bgp.Update{Withdrawn: p("10.0.0.0/8", "2001:db8::/32")}).AppendMessage(nil),
		(&bgp.Update{Attrs: a, NLRI: p("10.1.0.0/16", "2001:db8:1::/48"), Withdrawn: p("10.2.0.0/16")}).AppendMessage(nil),
	}
}

// FuzzDifferential decodes the same bytes with protocols/bgp and with GoBGP
// and fails where they disagree on whether the session survives or on the
// routes it ends up with. Where the two RFCs let them differ, the
// comparison says so (see normalize and the skips below).
func FuzzDifferential(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, ok1 := ours(msg)
		b, ok2 := theirs(msg)
		if !ok1 || !ok2 {
			return // not a well-framed UPDATE for one of them
		}
		overrun, lowBits, repeated, otherFamily := attrQuirks(msg)
		if otherFamily {
			// We skip the routes of families we do not decode; GoBGP
			// resets the session for families not negotiated, and
			// drops MP attributes with wrong flags.
			return
		}
		if repeated && !a.reset {
			// RFC 7606 §3.g: a repeated attribute is discarded unread;
			// GoBGP reads it, and may find it malformed.
			return
		}
		if lowBits {
			// RFC 4271 §4.3: the low four flag bits are ignored on
			// receipt; GoBGP takes them for a flags error.
			return
		}
		if overrun {
			// GoBGP stops at an attribute that overruns the list without
			// parsing the NLRI, which RFC 7606 §3.j needs for
			// treat-as-withdraw: it withdraws nothing, where we withdraw
			// the NLRI, or reset the session if the NLRI is broken too.
			return
		}
		if a.reset && a.subcode == bgp.SubUnrecognizedWellKnownAttr && !b.reset {
			// RFC 4271 §6.3 resets the session for an unknown attribute
			// that is not flagged optional; GoBGP keeps it.
			return
		}
		if a.reset && b.withdraw && (a.subcode == bgp.SubOptionalAttributeError || a.subcode == bgp.SubAttributeFlagsError) {
			// An MP_REACH_NLRI or MP_UNREACH_NLRI whose routes cannot be
			// read: RFC 7606 §3.j leaves a session reset, since
			// treat-as-withdraw cannot withdraw them; GoBGP withdraws
			// what it could read.
			return
		}
		if a.reset != b.reset {
			t.Fatalf("session reset: ours %v, GoBGP %v\n%x", a.reset, b.reset, msg)
		}
		if a.reset {
			return
		}
		na, nb := normalize(a), normalize(b)
		if a.withdraw && b.withdraw {
			// Treat-as-withdraw: GoBGP leaves out the routes of an
			// MP_REACH_NLRI whose flags are wrong, which RFC 7606 §3.c
			// withdraws; what GoBGP withdraws we must too.
			for _, p := range nb.withdrawn {
				if !slices.Contains(na.withdrawn, p) {
					t.Fatalf("GoBGP withdraws %s, we do not:\nours  %+v\nGoBGP %+v\n%x", p, na, nb, msg)
				}
			}
			return
		}
		if fmt.Sprint(na) != fmt.Sprint(nb) {
			t.Fatalf("decoded differently:\nours  %+v\nGoBGP %+v\n%x", na, nb, msg)
		}
	})
}
