//go:build unix && !linux

package internet

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// udpRecvState is empty here: recvmsg's Sockaddr is allocated by x/sys/unix,
// one small allocation per datagram on these systems.
type udpRecvState struct{}

// recv reads one datagram into buf; n > len(buf) means it did not fit.
func (s *udpSocket) recv(buf []byte) (int, netip.AddrPort, error) {
	n, _, flags, from, err := unix.Recvmsg(s.fd, buf, nil, 0)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if flags&unix.MSG_TRUNC != 0 {
		n = len(buf) + 1
	}
	switch sa := from.(type) {
	case *unix.SockaddrInet4:
		return n, netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return n, addrPort(sa.Addr, uint16(sa.Port), sa.ZoneId), nil
	}
	return 0, netip.AddrPort{}, unix.EAFNOSUPPORT
}
