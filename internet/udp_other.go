//go:build !unix

package internet

import "net/netip"

// udpSocket cannot be opened here: the reactor watches no sockets on these
// systems, so ListenUDP fails with ErrUDPNotSupported and no UDPPort ever
// reaches the other methods, which fail the same way.
type udpSocket struct{ fd int }

func (s *udpSocket) open(netip.AddrPort) error          { return ErrUDPNotSupported }
func (s *udpSocket) close()                             {}
func (s *udpSocket) localAddr() (netip.AddrPort, error) { return netip.AddrPort{}, ErrUDPNotSupported }
func (s *udpSocket) recv([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, ErrUDPNotSupported
}
func (s *udpSocket) sendTo([]byte, netip.AddrPort, bool) error { return ErrUDPNotSupported }
func (s *udpSocket) send([]byte) error                         { return ErrUDPNotSupported }
func (s *udpSocket) connect(netip.AddrPort, bool) error        { return ErrUDPNotSupported }
func (s *udpSocket) setBroadcast(bool) error                   { return ErrUDPNotSupported }
func (s *udpSocket) broadcast() (bool, error)                  { return false, ErrUDPNotSupported }
func (s *udpSocket) membership4(_, _ netip.Addr, _ bool) error { return ErrUDPNotSupported }
func (s *udpSocket) membership6(netip.Addr, int, bool) error   { return ErrUDPNotSupported }
func (s *udpSocket) setMulticastLoop(_, _ bool) error          { return ErrUDPNotSupported }
func (s *udpSocket) multicastLoop(bool) (bool, error)          { return false, ErrUDPNotSupported }
func (s *udpSocket) setMulticastTTL(int, bool) error           { return ErrUDPNotSupported }
func (s *udpSocket) multicastTTL(bool) (int, error)            { return 0, ErrUDPNotSupported }
