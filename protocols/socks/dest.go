package socks

import (
	"net"
	"net/netip"
	"slices"
)

// blocked are the destinations refused unless allowed: where a proxy
// reachable from outside must not lead. Loopback and the host's own
// addresses reach the proxy itself (chains of it exhaust its descriptors)
// and the services that trust local callers; private and link-local
// addresses reach the network behind it, cloud metadata services among them.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network": 0.0.0.0 connects to the host
	netip.MustParsePrefix("10.0.0.0/8"),     // private
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (carrier NAT)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),  // private
	netip.MustParsePrefix("192.168.0.0/16"), // private
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("fc00::/7"),       // unique local (private)
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2002::/16"),      // 6to4, which can wrap a private IPv4 address
	netip.MustParsePrefix("2001::/32"),      // Teredo, likewise
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("255.255.255.255/32"),
}

// Destinations decides which addresses the proxy may connect to: none in
// the blocked ranges (loopback, private, link-local, multicast and the like)
// nor the host's own addresses, unless an Allow prefix holds them.
type Destinations struct {
	// Allow lists the prefixes let through even if blocked, such as
	// 10.1.0.0/16 for a proxy into that network.
	Allow []netip.Prefix
	// Own are the host's own addresses; nil means those of its network
	// interfaces, looked up by HostAddrs.
	Own []netip.Addr
}

// Permitted reports whether the proxy may connect to a.
func (d *Destinations) Permitted(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	for _, p := range d.Allow {
		if p.Contains(a) {
			return true
		}
	}
	if slices.Contains(d.Own, a) {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// HostAddrs returns the addresses of the host's network interfaces.
func HostAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var own []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				own = append(own, ip.Unmap())
			}
		}
	}
	return own
}
