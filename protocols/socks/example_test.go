package socks_test

import (
	"fmt"
	"net/netip"

	"github.com/twistgo/twist/protocols/socks"
)

// The destinations a proxy into one private network may reach.
func ExampleDestinations() {
	d := socks.Destinations{
		Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		Own:   []netip.Addr{netip.MustParseAddr("198.51.100.7")},
	}
	for _, a := range []string{"93.184.215.14", "10.1.2.3", "10.2.0.1", "127.0.0.1", "169.254.169.254", "198.51.100.7"} {
		fmt.Println(a, d.Permitted(netip.MustParseAddr(a)))
	}
	// Output:
	// 93.184.215.14 true
	// 10.1.2.3 true
	// 10.2.0.1 false
	// 127.0.0.1 false
	// 169.254.169.254 false
	// 198.51.100.7 false
}
