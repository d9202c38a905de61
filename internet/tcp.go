package internet

import (
	"context"
	"net"
	"net/netip"
	"strconv"

	"github.com/twistgo/twist/reactor"
)

// ListenTCP listens for TCP connections on addr ("host:port"; an empty
// host is every IPv4 interface, as in Twisted, and port 0 lets the system
// choose: see Port.Addr) and serves each with a protocol from f (Twisted's
// reactor.listenTCP). It must be called on loop, or before loop runs. A
// host name is resolved before listening, blocking the caller.
//
// Accepted sockets have TCP_NODELAY set; the listening socket has
// SO_REUSEADDR, so that a restarted server can bind at once.
func ListenTCP(loop *reactor.Reactor, addr string, f Factory, opts ...ListenOption) (*Port, error) {
	a, err := resolveTCP(context.Background(), addr, true)
	if err != nil {
		return nil, err
	}
	return listenOn(loop, a, f, opts)
}

// ListenTCPGroup listens for TCP connections on addr, as ListenTCP does,
// and serves them on the loops of g: each connection lives on one loop for
// its whole life, and f's BuildProtocol is called from every loop. It may
// be called from any goroutine, before or after g runs. See GroupPort for
// how connections are spread.
func ListenTCPGroup(g *reactor.Group, addr string, f Factory, opts ...ListenOption) (*GroupPort, error) {
	a, err := resolveTCP(context.Background(), addr, true)
	if err != nil {
		return nil, err
	}
	return listenGroup(g, a, f, opts)
}

// ConnectTCP starts connecting to addr ("host:port") and returns the
// connector (Twisted's reactor.connectTCP). A host name is resolved on
// another goroutine, so that the loop never waits for it. It must be called
// on loop, or before loop runs. f is told how the attempt goes, always on
// a later turn of the loop, never from inside ConnectTCP.
func ConnectTCP(loop *reactor.Reactor, addr string, f ClientFactory, opts ...ConnectOption) *StreamConnector {
	c := newConnector(loop, f, opts, func(ctx context.Context) (net.Addr, error) {
		return resolveTCP(ctx, addr, false)
	})
	c.dest = addr
	c.Connect()
	return c
}

// resolveTCP turns "host:port" into a *net.TCPAddr, without a lookup when
// the host is an IP address. An empty host means 0.0.0.0 to a listener and
// the loopback address to a client.
func resolveTCP(ctx context.Context, addr string, listening bool) (*net.TCPAddr, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return net.TCPAddrFromAddrPort(ap), nil
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		if port, err = net.DefaultResolver.LookupPort(ctx, "tcp", portStr); err != nil {
			return nil, err
		}
	}
	if port < 0 || port > 65535 {
		return nil, &net.AddrError{Err: "invalid port", Addr: addr}
	}
	var ip netip.Addr
	switch {
	case host == "" && listening:
		ip = netip.IPv4Unspecified()
	case host == "":
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	default:
		if ip, err = netip.ParseAddr(host); err != nil {
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			// Prefer IPv4, which every host name's server is likelier to
			// listen on.
			ip = ips[0]
			for _, a := range ips {
				if a.Unmap().Is4() {
					ip = a
					break
				}
			}
		}
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), uint16(port))), nil
}
