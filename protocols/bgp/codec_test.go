package bgp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

var (
	nh4 = netip.MustParseAddr("192.0.2.1")
	nh6 = netip.MustParseAddr("2001:db8::1")
	ll6 = netip.MustParseAddr("fe80::1")
)

func pfx(s ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, x := range s {
		ps = append(ps, netip.MustParsePrefix(x))
	}
	return ps
}

func fullAttrs() *Attributes {
	return &Attributes{
		Origin:           OriginEGP,
		ASPath:           []ASPathSegment{{ASSequence, []uint32{65001, 4200000000, 3}}, {ASSet, []uint32{7, 8}}},
		NextHop:          nh4,
		NextHop6:         nh6,
		NextHopLinkLocal: ll6,
		MED:              10, HasMED: true,
		LocalPref: 200, HasLocalPref: true,
		AtomicAggregate:  true,
		Aggregator:       &Aggregator{4200000001, netip.MustParseAddr("10.0.0.1")},
		Communities:      []uint32{65001<<16 | 100, 0xffffff01},
		LargeCommunities: []LargeCommunity{{4200000000, 1, 2}},
		Unknown:          []RawAttribute{{FlagOptional | FlagTransitive | FlagPartial, 99, []byte{1, 2, 3}}},
	}
}

func decodeBody(t *testing.T, msg []byte, opts Options) *Update {
	t.Helper()
	m, n, err := ParseMessage(msg, opts)
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	if n != len(msg) {
		t.Fatalf("length %d, want %d", n, len(msg))
	}
	return m.(*Update)
}

func TestUpdateRoundTrip(t *testing.T) {
	long := make([]uint32, 300) // an AS_PATH that needs two segments and an extended length
	for i := range long {
		long[i] = uint32(70000 + i)
	}
	tests := []struct {
		name string
		u    Update
		opts Options
	}{
		{"ipv4 and ipv6, as4", Update{Withdrawn: pfx("10.9.0.0/16", "2001:db8:9::/48"), Attrs: fullAttrs(),
			NLRI: pfx("10.0.0.0/8", "192.0.2.128/25", "0.0.0.0/0", "2001:db8::/32", "::/0")}, Options{AS4: true}},
		{"ipv4 and ipv6, 2-octet AS with AS4_PATH", Update{Attrs: fullAttrs(),
			NLRI: pfx("10.0.0.0/8", "2001:db8::/32")}, Options{}},
		{"withdraw only", Update{Withdrawn: pfx("10.1.2.3/32", "2001:db8::1/128")}, Options{AS4: true}},
		{"long path", Update{Attrs: &Attributes{ASPath: []ASPathSegment{{ASSequence, long}}, NextHop: nh4},
			NLRI: pfx("10.0.0.0/24")}, Options{AS4: true}},
		{"long path, 2-octet", Update{Attrs: &Attributes{ASPath: []ASPathSegment{{ASSequence, long}}, NextHop: nh4},
			NLRI: pfx("10.0.0.0/24")}, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.u.Append(nil, tt.opts)
			got := decodeBody(t, msg, tt.opts)
			want := tt.u
			if want.Attrs != nil {
				a := *want.Attrs
				if len(want.NLRI) > 0 && !want.NLRI[0].Addr().Is4() {
					a.NextHop = netip.Addr{}
				}
				// Long segments come back split at 255.
				a.ASPath = nil
				for _, s := range want.Attrs.ASPath {
					for asns := s.ASNs; len(asns) > 0; asns = asns[min(len(asns), 255):] {
						a.ASPath = append(a.ASPath, ASPathSegment{s.Type, asns[:min(len(asns), 255)]})
					}
				}
				want.Attrs = &a
			}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, &want)
				if got.Attrs != nil && want.Attrs != nil {
					t.Errorf("attrs\n%+v\nwant\n%+v", *got.Attrs, *want.Attrs)
				}
			}
			if again := got.Append(nil, tt.opts); !bytes.Equal(again, msg) {
				t.Errorf("re-encoded differs:\n%x\n%x", again, msg)
			}
		})
	}
}

func TestEndOfRIB(t *testing.T) {
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		u := &Update{EndOfRIB: &f}
		got := decodeBody(t, u.AppendMessage(nil), Options{AS4: true})
		if got.EndOfRIB == nil || *got.EndOfRIB != f {
			t.Errorf("%v: EndOfRIB = %v", f, got.EndOfRIB)
		}
	}
}

// TestOldSpeakerPath checks RFC 6793's merge of AS_PATH and AS4_PATH from a
// 2-octet speaker whose path has gone through an aggregation.
func TestOldSpeakerPath(t *testing.T) {
	b := NewUpdateBuilder()
	b.attr(FlagTransitive, AttrOrigin, 0)
	b.attr(FlagTransitive, AttrASPath, 2, 3, 0, 1, 0x5b, 0xa0, 0x5b, 0xa0) // 1, AS_TRANS, AS_TRANS
	b.attr(FlagTransitive, AttrNextHop, 192, 0, 2, 1)
	b.attr(FlagOptional|FlagTransitive, AttrAS4Path, 2, 2, 0xfa, 0x56, 0xea, 0, 0xfa, 0x56, 0xea, 1)
	b.attr(FlagOptional|FlagTransitive, AttrAggregator, 0x5b, 0xa0, 10, 0, 0, 1)
	b.attr(FlagOptional|FlagTransitive, AttrAS4Aggregator, 0xfa, 0x56, 0xea, 2, 10, 0, 0, 1)
	b.nlri = []byte{8, 10}
	got := decodeBody(t, b.message(), Options{})
	want := []ASPathSegment{{ASSequence, []uint32{1}}, {ASSequence, []uint32{4200000000, 4200000001}}}
	if !reflect.DeepEqual(got.Attrs.ASPath, want) {
		t.Errorf("path %v, want %v", got.Attrs.ASPath, want)
	}
	if got.Attrs.Aggregator.AS != 4200000002 {
		t.Errorf("aggregator %v", got.Attrs.Aggregator)
	}
}

// updateBuilder writes UPDATEs by hand, malformed ones included.
type updateBuilder struct {
	withdrawn, attrs, nlri []byte
}

func NewUpdateBuilder() *updateBuilder { return &updateBuilder{} }

func (b *updateBuilder) attr(flags, typ uint8, v ...byte) *updateBuilder {
	b.attrs = appendAttr(b.attrs, flags, typ, v)
	return b
}

func (b *updateBuilder) raw(v ...byte) *updateBuilder {
	b.attrs = append(b.attrs, v...)
	return b
}

func (b *updateBuilder) body() []byte {
	out := append([]byte{byte(len(b.withdrawn) >> 8), byte(len(b.withdrawn))}, b.withdrawn...)
	out = append(out, byte(len(b.attrs)>>8), byte(len(b.attrs)))
	return append(append(out, b.attrs...), b.nlri...)
}

func (b *updateBuilder) message() []byte {
	msg := append(appendHeader(nil, TypeUpdate), b.body()...)
	return finishMessage(msg, 0)
}

// base is a well-formed UPDATE announcing 10.0.0.0/8, with attr replacing
// the attribute of the same type.
func base(skip uint8, extra func(b *updateBuilder)) *updateBuilder {
	b := NewUpdateBuilder()
	if skip != AttrOrigin {
		b.attr(FlagTransitive, AttrOrigin, 0)
	}
	if skip != AttrASPath {
		b.attr(FlagTransitive, AttrASPath, 2, 1, 0, 0, 0xfd, 0xe9)
	}
	if skip != AttrNextHop {
		b.attr(FlagTransitive, AttrNextHop, 192, 0, 2, 1)
	}
	if extra != nil {
		extra(b)
	}
	b.nlri = []byte{8, 10}
	return b
}

func TestMalformedUpdate(t *testing.T) {
	tests := []struct {
		name    string
		b       *updateBuilder
		action  Action
		subcode uint8
	}{
		{"withdrawn prefix truncated", &updateBuilder{withdrawn: []byte{8}, nlri: nil}, SessionReset, SubInvalidNetworkField},
		{"withdrawn prefix too long", &updateBuilder{withdrawn: []byte{33, 1, 2, 3, 4, 5}}, SessionReset, SubInvalidNetworkField},
		{"nlri prefix overruns", &updateBuilder{nlri: []byte{24, 10, 0}}, SessionReset, SubInvalidNetworkField},
		{"attribute overruns", base(0, func(b *updateBuilder) { b.raw(FlagOptional, AttrMED, 9, 0) }), TreatAsWithdraw, SubMalformedAttributeList},
		{"mp_reach overruns", base(0, func(b *updateBuilder) { b.raw(FlagOptional, AttrMPReach, 9, 0) }), SessionReset, SubMalformedAttributeList},
		{"two bytes left", base(0, func(b *updateBuilder) { b.raw(FlagOptional, AttrMED) }), TreatAsWithdraw, SubMalformedAttributeList},
		{"unrecognized well-known", base(0, func(b *updateBuilder) { b.attr(FlagTransitive, 99) }), SessionReset, SubUnrecognizedWellKnownAttr},
		{"missing origin", base(AttrOrigin, nil), TreatAsWithdraw, SubMissingWellKnownAttr},
		{"missing as_path", base(AttrASPath, nil), TreatAsWithdraw, SubMissingWellKnownAttr},
		{"missing next_hop", base(AttrNextHop, nil), TreatAsWithdraw, SubMissingWellKnownAttr},
		{"bad origin", base(AttrOrigin, func(b *updateBuilder) { b.attr(FlagTransitive, AttrOrigin, 3) }), TreatAsWithdraw, SubInvalidOrigin},
		{"origin flags", base(AttrOrigin, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrOrigin, 0) }), TreatAsWithdraw, SubAttributeFlagsError},
		{"as_path segment type", base(AttrASPath, func(b *updateBuilder) { b.attr(FlagTransitive, AttrASPath, 9, 1, 0, 1) }), TreatAsWithdraw, SubMalformedASPath},
		{"as_path confed from eBGP", base(AttrASPath, func(b *updateBuilder) { b.attr(FlagTransitive, AttrASPath, 3, 1, 0, 0, 0, 1) }), TreatAsWithdraw, SubMalformedASPath},
		{"as_path zero count", base(AttrASPath, func(b *updateBuilder) { b.attr(FlagTransitive, AttrASPath, 2, 0) }), TreatAsWithdraw, SubMalformedASPath},
		{"as_path overrun", base(AttrASPath, func(b *updateBuilder) { b.attr(FlagTransitive, AttrASPath, 2, 2, 0, 0, 0, 1) }), TreatAsWithdraw, SubMalformedASPath},
		{"next_hop length", base(AttrNextHop, func(b *updateBuilder) { b.attr(FlagTransitive, AttrNextHop, 1, 2, 3) }), TreatAsWithdraw, SubAttributeLengthError},
		{"next_hop zero", base(AttrNextHop, func(b *updateBuilder) { b.attr(FlagTransitive, AttrNextHop, 0, 0, 0, 0) }), TreatAsWithdraw, SubInvalidNextHop},
		{"med length", base(0, func(b *updateBuilder) { b.attr(FlagOptional, AttrMED, 1) }), TreatAsWithdraw, SubAttributeLengthError},
		{"communities length", base(0, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrCommunities, 1, 2, 3) }), TreatAsWithdraw, SubAttributeLengthError},
		{"large community length", base(0, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrLargeCommunity, 1, 2, 3, 4) }), TreatAsWithdraw, SubAttributeLengthError},
		{"atomic aggregate length", base(0, func(b *updateBuilder) { b.attr(FlagTransitive, AttrAtomicAggregate, 1) }), AttributeDiscard, SubAttributeLengthError},
		{"aggregator length", base(0, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrAggregator, 1, 2) }), AttributeDiscard, SubAttributeLengthError},
		{"as4_path confed", base(0, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrAS4Path, 3, 1, 0, 0, 0, 1) }), AttributeDiscard, SubMalformedASPath},
		{"mp_reach short", base(0, func(b *updateBuilder) { b.attr(FlagOptional, AttrMPReach, 0, 2, 1) }), SessionReset, SubOptionalAttributeError},
		{"mp_reach next hop length", base(0, func(b *updateBuilder) { b.attr(FlagOptional, AttrMPReach, 0, 2, 1, 4, 1, 2, 3, 4, 0) }), SessionReset, SubOptionalAttributeError},
		{"mp_reach prefix", base(0, func(b *updateBuilder) {
			b.attr(FlagOptional, AttrMPReach, append(append([]byte{0, 2, 1, 16}, nh6.AsSlice()...), 0, 129)...)
		}), SessionReset, SubOptionalAttributeError},
		{"mp_unreach twice", base(0, func(b *updateBuilder) {
			b.attr(FlagOptional, AttrMPUnreach, 0, 2, 1)
			b.attr(FlagOptional, AttrMPUnreach, 0, 2, 1)
		}), SessionReset, SubMalformedAttributeList},
		{"mp_unreach flags", base(0, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrMPUnreach, 0, 2, 1) }), TreatAsWithdraw, SubAttributeFlagsError},
		{"mp_unreach flags, bad prefix", base(0, func(b *updateBuilder) { b.attr(FlagOptional|FlagTransitive, AttrMPUnreach, 0, 2, 1, 200) }), SessionReset, SubOptionalAttributeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseMessage(tt.b.message(), Options{AS4: true, EBGP: true})
			var ue *UpdateError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want an *UpdateError", err)
			}
			if ue.Action != tt.action || ue.Code != CodeUpdate || ue.Subcode != tt.subcode {
				t.Errorf("got %v (%d/%d), want %v 3/%d", ue.Action, ue.Code, ue.Subcode, tt.action, tt.subcode)
			}
			var n *Notification
			if !errors.As(err, &n) || n.Subcode != tt.subcode {
				t.Errorf("errors.As(*Notification) = %v", n)
			}
		})
	}
}

func TestUpdateLengthsOverrun(t *testing.T) {
	for _, body := range [][]byte{{0}, {0, 5, 1, 2, 3, 4}, {0, 0, 0, 1}, {0, 2, 0, 0, 0}} {
		var u Update
		var ue *UpdateError
		if err := u.Decode(body, Options{}); !errors.As(err, &ue) || ue.Action != SessionReset || ue.Subcode != SubMalformedAttributeList {
			t.Errorf("%x: %v", body, err)
		}
	}
}

func TestTreatAsWithdrawWithdraws(t *testing.T) {
	b := base(AttrOrigin, nil)
	b.withdrawn = []byte{16, 10, 1}
	var u Update
	err := u.Decode(b.body(), Options{AS4: true})
	if err == nil || u.Attrs != nil || len(u.NLRI) != 0 || !reflect.DeepEqual(u.Withdrawn, pfx("10.1.0.0/16", "10.0.0.0/8")) {
		t.Errorf("err %v, update %+v", err, u)
	}
}

func TestDuplicateAttributeDiscarded(t *testing.T) {
	b := base(0, func(b *updateBuilder) { b.attr(FlagTransitive, AttrOrigin, 2) })
	var u Update
	if err := u.Decode(b.body(), Options{AS4: true}); err != nil || u.Attrs.Origin != OriginIGP {
		t.Errorf("err %v, origin %d", err, u.Attrs.Origin)
	}
}

func TestHeaderErrors(t *testing.T) {
	ka := Keepalive{}.AppendMessage(nil)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(ka)) }
	tests := []struct {
		name      string
		msg       []byte
		code, sub uint8
		data      []byte
	}{
		{"marker", mod(func(b []byte) []byte { b[3] = 0; return b }), CodeHeader, SubConnectionNotSynchronized, nil},
		{"length under 19", mod(func(b []byte) []byte { b[17] = 18; return b }), CodeHeader, SubBadMessageLength, []byte{0, 18}},
		{"length over max", mod(func(b []byte) []byte { b[16], b[17] = 0x10, 1; return b }), CodeHeader, SubBadMessageLength, []byte{0x10, 1}},
		{"keepalive with body", mod(func(b []byte) []byte { b[17] = 20; return append(b, 0) }), CodeHeader, SubBadMessageLength, []byte{0, 20}},
		{"open too short", mod(func(b []byte) []byte { b[18] = 1; return b }), CodeHeader, SubBadMessageLength, []byte{0, 19}},
		{"type", mod(func(b []byte) []byte { b[18] = 9; return b }), CodeHeader, SubBadMessageType, []byte{9}},
		{"route refresh with ORF", finishMessage(append(appendHeader(nil, TypeRouteRefresh), 0, 1, 0, 1, 9), 0),
			CodeRouteRefresh, SubInvalidMessageLength, []byte{0, 24}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseMessage(tt.msg, Options{})
			var n *Notification
			if !errors.As(err, &n) || n.Code != tt.code || n.Subcode != tt.sub || !bytes.Equal(n.Data, tt.data) {
				t.Errorf("got %v, want %d/%d data %x", err, tt.code, tt.sub, tt.data)
			}
		})
	}
	if _, _, err := ParseMessage(ka[:18], Options{}); err != ErrShort {
		t.Errorf("short header: %v", err)
	}
}

func TestOpenRoundTrip(t *testing.T) {
	o := NewOpen(4200000000, 90, netip.MustParseAddr("10.0.0.1"),
		MultiprotocolCapability(IPv4Unicast), MultiprotocolCapability(IPv6Unicast),
		RouteRefreshCapability(), EnhancedRouteRefreshCapability(),
		GracefulRestartCapability(GracefulRestart{Flags: 8, Time: 120, Families: []GracefulRestartFamily{{IPv6Unicast, 0x80}}}),
		AddPathCapability(AddPathFamily{IPv4Unicast, AddPathBoth}),
		FQDNCapability("probe", "example.net"), Capability{Code: 200, Value: []byte{1}})
	m, _, err := ParseMessage(o.AppendMessage(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Open)
	if !reflect.DeepEqual(got, o) {
		t.Fatalf("got %+v\nwant %+v", got, o)
	}
	if got.AS() != 4200000000 || got.MyAS != ASTrans {
		t.Errorf("AS %d MyAS %d", got.AS(), got.MyAS)
	}
	if fs := got.Families(); !reflect.DeepEqual(fs, []Family{IPv4Unicast, IPv6Unicast}) {
		t.Errorf("families %v", fs)
	}
	gr, _ := got.Capabilities[5].GracefulRestart()
	ap, _ := got.Capabilities[6].AddPath()
	h, d, _ := got.Capabilities[7].FQDN()
	if gr.Time != 120 || gr.Flags != 8 || len(gr.Families) != 1 || ap[0].SendReceive != AddPathBoth || h != "probe" || d != "example.net" {
		t.Errorf("capabilities: %+v %+v %q %q", gr, ap, h, d)
	}
}

func TestOpenErrors(t *testing.T) {
	good := NewOpen(65001, 90, netip.MustParseAddr("10.0.0.1")).AppendMessage(nil)
	body := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b[HeaderLen:]); return b }
	tests := []struct {
		name string
		msg  []byte
		sub  uint8
		data []byte
	}{
		{"version", body(func(b []byte) { b[0] = 3 }), SubUnsupportedVersion, []byte{0, 4}},
		{"hold time 2", body(func(b []byte) { b[3], b[4] = 0, 2 }), SubUnacceptableHoldTime, nil},
		{"zero identifier", body(func(b []byte) { copy(b[5:9], []byte{0, 0, 0, 0}) }), SubBadBGPIdentifier, nil},
		{"optional parameters length", body(func(b []byte) { b[9]++ }), 0, nil},
		{"unknown parameter", body(func(b []byte) { b[10] = 1 }), SubUnsupportedOptParam, nil},
		{"capability overrun", body(func(b []byte) { b[13]++ }), 0, nil},
		{"as4 capability length", (&Open{MyAS: 1, ID: nh4, Capabilities: []Capability{{CapAS4, []byte{1, 2, 3}}}}).AppendMessage(nil), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseMessage(tt.msg, Options{})
			var n *Notification
			if !errors.As(err, &n) || n.Code != CodeOpen || n.Subcode != tt.sub || !bytes.Equal(n.Data, tt.data) {
				t.Errorf("got %v, want 2/%d", err, tt.sub)
			}
		})
	}
}

func TestNotificationText(t *testing.T) {
	tests := []struct {
		n    *Notification
		want string
	}{
		{&Notification{Code: 4}, "Hold Timer Expired: Unspecific"},
		{&Notification{Code: 3, Subcode: 11}, "UPDATE Message Error: Malformed AS_PATH"},
		{&Notification{Code: 1, Subcode: 2, Data: []byte{0, 18}}, "Message Header Error: Bad Message Length (data 0012)"},
		{AdminShutdown("maintenance \"now\""), `Cease: Administrative Shutdown ("maintenance \"now\"")`},
		{&Notification{Code: 6, Subcode: 7}, "Cease: Connection Collision Resolution"},
		{&Notification{Code: 42, Subcode: 9}, "error code 42: subcode 9"},
		{&Notification{Code: 5, Subcode: 2, Data: bytes.Repeat([]byte{1}, 100)}, "Finite State Machine Error: Receive Unexpected Message in OpenConfirm State (data " + strings.Repeat("01", 32) + "...)"},
	}
	for _, tt := range tests {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		m, _, err := ParseMessage(tt.n.AppendMessage(nil), Options{})
		if err != nil || !reflect.DeepEqual(m, tt.n) && len(tt.n.Data) > 0 {
			t.Errorf("round trip: %v %v", m, err)
		}
	}
	if n := AdminShutdown(strings.Repeat("é", 200)); int(n.Data[0]) != 254 || len(n.Data) != 255 {
		t.Errorf("shutdown communication not cut on a rune: %d", n.Data[0])
	}
}

func TestUpdateReaderZeroAlloc(t *testing.T) {
	msg := (&Update{Attrs: fullAttrs(), NLRI: pfx("10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32")}).AppendMessage(nil)
	body := msg[HeaderLen:]
	var n int
	allocs := testing.AllocsPerRun(100, func() {
		r, err := ReadUpdate(body)
		if err != nil {
			t.Fatal(err)
		}
		it := r.Attributes()
		for a, ok := it.Next(); ok; a, ok = it.Next() {
			if a.Type == AttrMPReach {
				mp := MPPrefixes(IPv6Unicast, a.Value[5+int(a.Value[3]):])
				for _, ok := mp.Next(); ok; _, ok = mp.Next() {
					n++
				}
			}
		}
		ps := r.NLRI()
		for _, ok := ps.Next(); ok; _, ok = ps.Next() {
			n++
		}
	})
	if allocs != 0 || n != 3*101 {
		t.Errorf("%v allocations, %d prefixes", allocs, n)
	}
}

// An UPDATE assembled by hand from RFC 4271 §4.3: ORIGIN IGP, AS_PATH
// 65001 (4-octet), NEXT_HOP 10.0.0.1, NLRI 10.10.0.0/16.
const handUpdate = "ffffffffffffffffffffffffffffffff 002e 02 0000 0014 40010100 400206020100 00fde9 4003040a000001 100a0a"

func TestKnownBytes(t *testing.T) {
	b, err := hex.DecodeString(strings.ReplaceAll(handUpdate, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	u := decodeBody(t, b, Options{AS4: true})
	if u.Attrs.NextHop != netip.MustParseAddr("10.0.0.1") || u.Attrs.ASPath[0].ASNs[0] != 65001 ||
		!reflect.DeepEqual(u.NLRI, pfx("10.10.0.0/16")) {
		t.Errorf("%+v %+v", u, u.Attrs)
	}
}
