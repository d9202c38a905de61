package gobgpdiff

import (
	"net"
	"net/netip"
	"testing"

	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/twistgo/twist/protocols/bgp"
)

// benchUpdate is a typical full UPDATE: every common attribute and as many
// IPv4 /24s as fit in 4096 bytes' worth of a router's packing (200).
func benchUpdate() *bgp.Update {
	a := &bgp.Attributes{Origin: bgp.OriginIGP, NextHop: netip.MustParseAddr("192.0.2.1"),
		ASPath: []bgp.ASPathSegment{{Type: bgp.ASSequence, ASNs: []uint32{65001, 3356, 174, 4200000000}}},
		MED:    7, HasMED: true, Communities: []uint32{65001<<16 | 1, 65001<<16 | 2},
		LargeCommunities: []bgp.LargeCommunity{{Global: 65001, Local1: 1, Local2: 2}}}
	u := &bgp.Update{Attrs: a}
	for i := range 200 {
		u.NLRI = append(u.NLRI, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
	}
	return u
}

// gobgpUpdate is benchUpdate as GoBGP's types.
func gobgpUpdate(u *bgp.Update) *gobgp.BGPMessage {
	attrs := []gobgp.PathAttributeInterface{
		gobgp.NewPathAttributeOrigin(0),
		gobgp.NewPathAttributeAsPath([]gobgp.AsPathParamInterface{gobgp.NewAs4PathParam(2, []uint32{65001, 3356, 174, 4200000000})}),
		gobgp.NewPathAttributeNextHop("192.0.2.1"),
		gobgp.NewPathAttributeMultiExitDisc(7),
		gobgp.NewPathAttributeCommunities([]uint32{65001<<16 | 1, 65001<<16 | 2}),
		gobgp.NewPathAttributeLargeCommunities([]*gobgp.LargeCommunity{gobgp.NewLargeCommunity(65001, 1, 2)}),
	}
	var nlri []*gobgp.IPAddrPrefix
	for _, p := range u.NLRI {
		nlri = append(nlri, gobgp.NewIPAddrPrefix(uint8(p.Bits()), net.IP(p.Addr().AsSlice()).String()))
	}
	return gobgp.NewBGPUpdateMessage(nil, attrs, nlri)
}

func TestBenchMessagesAgree(t *testing.T) {
	u := benchUpdate()
	ours := u.AppendMessage(nil)
	theirs, err := gobgpUpdate(u).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	m, err := gobgp.ParseBGPMessage(ours)
	if err != nil || len(m.Body.(*gobgp.BGPUpdate).NLRI) != 200 {
		t.Fatalf("GoBGP decodes ours: %v", err)
	}
	if _, _, err := bgp.ParseMessage(theirs, bgp.Options{AS4: true}); err != nil {
		t.Fatalf("we decode GoBGP's: %v", err)
	}
}

func BenchmarkDecode(b *testing.B) {
	msg := benchUpdate().AppendMessage(nil)
	b.Run("twist", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, _, err := bgp.ParseMessage(msg, bgp.Options{AS4: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twist-reader", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			r, err := bgp.ReadUpdate(msg[bgp.HeaderLen:])
			if err != nil {
				b.Fatal(err)
			}
			it := r.Attributes()
			for _, ok := it.Next(); ok; _, ok = it.Next() {
			}
			ps := r.NLRI()
			n := 0
			for _, ok := ps.Next(); ok; _, ok = ps.Next() {
				n++
			}
			if n != 200 {
				b.Fatal(n)
			}
		}
	})
	b.Run("gobgp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if _, err := gobgp.ParseBGPMessage(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	u := benchUpdate()
	b.Run("twist", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = u.AppendMessage(buf[:0])
		}
	})
	m := gobgpUpdate(u)
	b.Run("gobgp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Serialize(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
