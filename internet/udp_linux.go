package internet

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpRecvState is the sockaddr that recvfrom fills: a raw one, read in
// place, since x/sys/unix's Recvfrom allocates a Sockaddr per datagram.
type udpRecvState struct {
	rsa    unix.RawSockaddrAny
	rsaLen uint32
}

// recv reads one datagram into buf. With MSG_TRUNC, Linux returns the
// datagram's real length, so n > len(buf) means it did not fit.
func (s *udpSocket) recv(buf []byte) (int, netip.AddrPort, error) {
	s.rsaLen = unix.SizeofSockaddrAny
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd),
		uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), unix.MSG_TRUNC,
		uintptr(unsafe.Pointer(&s.rsa)), uintptr(unsafe.Pointer(&s.rsaLen)))
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	switch s.rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.rsa))
		return int(n), netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port)), nil
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.rsa))
		return int(n), addrPort(sa.Addr, ntohs(sa.Port), sa.Scope_id), nil
	}
	return 0, netip.AddrPort{}, unix.EAFNOSUPPORT
}

// ntohs reads a port stored in network byte order.
func ntohs(port uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&port))
	return uint16(b[0])<<8 | uint16(b[1])
}
