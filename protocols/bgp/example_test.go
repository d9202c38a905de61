package bgp_test

import (
	"fmt"
	"net/netip"

	"github.com/twistgo/twist/protocols/bgp"
)

func ExampleParseMessage() {
	u := &bgp.Update{
		Attrs: &bgp.Attributes{
			Origin:      bgp.OriginIGP,
			ASPath:      []bgp.ASPathSegment{{Type: bgp.ASSequence, ASNs: []uint32{65001, 4200000000}}},
			NextHop:     netip.MustParseAddr("192.0.2.1"),
			NextHop6:    netip.MustParseAddr("2001:db8::1"),
			Communities: []uint32{65001<<16 | 100},
		},
		NLRI: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48")},
	}
	msg := u.Append(nil, bgp.Options{AS4: true})

	m, n, err := bgp.ParseMessage(msg, bgp.Options{AS4: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	got := m.(*bgp.Update)
	fmt.Println(m.Type(), n, "bytes")
	fmt.Println(got.NLRI)
	fmt.Println(got.Attrs.ASPath[0].ASNs, got.Attrs.NextHop, got.Attrs.NextHop6)
	// Output:
	// UPDATE 89 bytes
	// [198.51.100.0/24 2001:db8:1::/48]
	// [65001 4200000000] 192.0.2.1 2001:db8::1
}

func ExampleReadUpdate() {
	u := &bgp.Update{
		Attrs: &bgp.Attributes{NextHop: netip.MustParseAddr("192.0.2.1")},
		NLRI:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")},
	}
	msg := u.AppendMessage(nil)

	// The hot path: attributes and prefixes are read in place.
	r, err := bgp.ReadUpdate(msg[bgp.HeaderLen:])
	if err != nil {
		fmt.Println(err)
		return
	}
	attrs := r.Attributes()
	for a, ok := attrs.Next(); ok; a, ok = attrs.Next() {
		fmt.Println("attribute", a.Type, len(a.Value), "bytes")
	}
	nlri := r.NLRI()
	for p, ok := nlri.Next(); ok; p, ok = nlri.Next() {
		fmt.Println("prefix", p)
	}
	// Output:
	// attribute 1 1 bytes
	// attribute 2 0 bytes
	// attribute 3 4 bytes
	// prefix 10.0.0.0/8
	// prefix 10.1.0.0/16
}

func ExampleNotification_String() {
	msg := bgp.AdminShutdown("maintenance window").AppendMessage(nil)
	m, _, _ := bgp.ParseMessage(msg, bgp.Options{})
	fmt.Println(m.(*bgp.Notification).String())

	_, _, err := bgp.ParseMessage([]byte("not a BGP message at all"), bgp.Options{})
	fmt.Println(err)
	// Output:
	// Cease: Administrative Shutdown ("maintenance window")
	// bgp: Message Header Error: Connection Not Synchronized
}
