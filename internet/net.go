package internet

import (
	"net"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// Net is what code that listens and connects needs from a reactor: the seam
// that lets a test hand it twisttest's MemoryReactorClock instead of a real
// loop (Twisted's IReactorTCP, IReactorUNIX, IReactorUDP and IReactorTime in
// one). The functions of this package take a *reactor.Reactor, which no fake
// can stand in for, so code that wants to be tested without sockets takes a
// Net, and its program passes RealNet(loop).
type Net interface {
	clock.Clock
	// ListenTCP listens as the function ListenTCP does.
	ListenTCP(addr string, f Factory, opts ...ListenOption) (ListeningPort, error)
	// ConnectTCP connects as the function ConnectTCP does.
	ConnectTCP(addr string, f ClientFactory, opts ...ConnectOption) Connector
	// ListenUnix listens as the function ListenUnix does.
	ListenUnix(path string, f Factory, opts ...ListenOption) (ListeningPort, error)
	// ConnectUnix connects as the function ConnectUnix does.
	ConnectUnix(path string, f ClientFactory, opts ...ConnectOption) Connector
	// ListenUDP opens a UDP port as the function ListenUDP does.
	ListenUDP(addr string, p DatagramProtocol, opts ...UDPOption) (DatagramTransport, error)
}

// ListeningPort is a listening port as Net returns it: a *Port or a fake
// such as twisttest's *MemoryPort (Twisted's IListeningPort).
type ListeningPort interface {
	// Addr returns the address the port listens on.
	Addr() net.Addr
	// StopListening closes the port.
	StopListening() *deferred.Deferred
}

// RealNet returns the Net of a real loop: its methods call the functions of
// this package with loop, and its clock is the loop's.
func RealNet(loop *reactor.Reactor) Net { return realNet{loop} }

type realNet struct{ *reactor.Reactor }

func (n realNet) ListenTCP(addr string, f Factory, opts ...ListenOption) (ListeningPort, error) {
	return listening(ListenTCP(n.Reactor, addr, f, opts...))
}

func (n realNet) ConnectTCP(addr string, f ClientFactory, opts ...ConnectOption) Connector {
	return ConnectTCP(n.Reactor, addr, f, opts...)
}

func (n realNet) ListenUnix(path string, f Factory, opts ...ListenOption) (ListeningPort, error) {
	return listening(ListenUnix(n.Reactor, path, f, opts...))
}

func (n realNet) ConnectUnix(path string, f ClientFactory, opts ...ConnectOption) Connector {
	return ConnectUnix(n.Reactor, path, f, opts...)
}

func (n realNet) ListenUDP(addr string, p DatagramProtocol, opts ...UDPOption) (DatagramTransport, error) {
	u, err := ListenUDP(n.Reactor, addr, p, opts...)
	if err != nil {
		return nil, err // not a nil *UDPPort in a non-nil interface
	}
	return u, nil
}

// listening keeps a failed Listen's nil *Port out of the ListeningPort
// interface.
func listening(p *Port, err error) (ListeningPort, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}
