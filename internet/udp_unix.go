//go:build unix

package internet

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// udpSocket is a non-blocking UDP socket. The sockaddrs are kept in it so
// that sending to an address fills them in place instead of allocating.
type udpSocket struct {
	fd  int
	sa4 unix.SockaddrInet4
	sa6 unix.SockaddrInet6
	udpRecvState
}

func (s *udpSocket) open(local netip.AddrPort) error {
	family := unix.AF_INET
	if !local.Addr().Is4() {
		family = unix.AF_INET6
	}
	// The fork lock keeps a concurrent fork from inheriting the descriptor
	// before it is marked close-on-exec, as the net package does.
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return err
	}
	s.fd = fd
	if err := unix.SetNonblock(fd, true); err != nil {
		s.close()
		return err
	}
	if err := unix.Bind(fd, s.sockaddr(local, family == unix.AF_INET6)); err != nil {
		s.close()
		return err
	}
	return nil
}

func (s *udpSocket) close() { _ = unix.Close(s.fd) }

// sockaddr fills the socket's sockaddr for to. An IPv6 socket takes IPv4
// addresses in their IPv4-mapped form.
func (s *udpSocket) sockaddr(to netip.AddrPort, v6 bool) unix.Sockaddr {
	if !v6 && to.Addr().Is4() {
		s.sa4.Port = int(to.Port())
		s.sa4.Addr = to.Addr().As4()
		return &s.sa4
	}
	s.sa6.Port = int(to.Port())
	s.sa6.Addr = to.Addr().As16()
	s.sa6.ZoneId = zoneID(to.Addr().Zone())
	return &s.sa6
}

// zoneID returns the interface index of an IPv6 zone: a number, or an
// interface name.
func zoneID(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

// addrPort returns the address of a sender, IPv4-mapped addresses unmapped
// and the zone of a scoped IPv6 address as its interface index.
func addrPort(ip16 [16]byte, port uint16, zone uint32) netip.AddrPort {
	a := netip.AddrFrom16(ip16)
	if a.Is4In6() {
		return netip.AddrPortFrom(a.Unmap(), port)
	}
	if zone != 0 {
		a = a.WithZone(strconv.FormatUint(uint64(zone), 10))
	}
	return netip.AddrPortFrom(a, port)
}

func (s *udpSocket) localAddr() (netip.AddrPort, error) {
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return addrPort(sa.Addr, uint16(sa.Port), sa.ZoneId), nil
	}
	return netip.AddrPort{}, unix.EAFNOSUPPORT
}

func (s *udpSocket) sendTo(b []byte, to netip.AddrPort, v6 bool) error {
	return unix.Sendto(s.fd, b, 0, s.sockaddr(to, v6))
}

func (s *udpSocket) send(b []byte) error {
	_, err := unix.Write(s.fd, b)
	return err
}

func (s *udpSocket) connect(to netip.AddrPort, v6 bool) error {
	return unix.Connect(s.fd, s.sockaddr(to, v6))
}

func (s *udpSocket) setBroadcast(on bool) error {
	return unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_BROADCAST, boolInt(on))
}

func (s *udpSocket) broadcast() (bool, error) {
	v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_BROADCAST)
	return v != 0, err
}

func (s *udpSocket) membership4(group, iface netip.Addr, join bool) error {
	opt := unix.IP_DROP_MEMBERSHIP
	if join {
		opt = unix.IP_ADD_MEMBERSHIP
	}
	return unix.SetsockoptIPMreq(s.fd, unix.IPPROTO_IP, opt, &unix.IPMreq{Multiaddr: group.As4(), Interface: iface.As4()})
}

func (s *udpSocket) membership6(group netip.Addr, index int, join bool) error {
	opt := unix.IPV6_LEAVE_GROUP
	if join {
		opt = unix.IPV6_JOIN_GROUP
	}
	return unix.SetsockoptIPv6Mreq(s.fd, unix.IPPROTO_IPV6, opt, &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(index)})
}

// The IPv4 multicast options are a byte on the BSDs; Linux takes either.
func (s *udpSocket) setMulticastLoop(on, v6 bool) error {
	if v6 {
		return unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, boolInt(on))
	}
	return unix.SetsockoptByte(s.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, byte(boolInt(on)))
}

func (s *udpSocket) multicastLoop(v6 bool) (bool, error) {
	if v6 {
		v, err := unix.GetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP)
		return v != 0, err
	}
	v, err := unix.GetsockoptByte(s.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP)
	return v != 0, err
}

func (s *udpSocket) setMulticastTTL(ttl int, v6 bool) error {
	if v6 {
		return unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, ttl)
	}
	if ttl < 0 || ttl > 255 {
		return unix.EINVAL
	}
	return unix.SetsockoptByte(s.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, byte(ttl))
}

func (s *udpSocket) multicastTTL(v6 bool) (int, error) {
	if v6 {
		return unix.GetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS)
	}
	v, err := unix.GetsockoptByte(s.fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL)
	return int(v), err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
