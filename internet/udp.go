package internet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// A DatagramProtocol handles the datagrams of a UDP port (Twisted's
// DatagramProtocol). Its methods run on the port's loop, one at a time.
//
// A protocol may also implement DatagramStarter, to be told when its port
// starts and stops, and ConnectionRefuser, to hear of refused datagrams on a
// connected port. Embed BaseDatagramProtocol to get all three.
type DatagramProtocol interface {
	// DatagramReceived is called with each datagram and its sender. data is
	// the loop's read buffer, valid only during the call; addr may be kept:
	// it is never modified, and the port hands the same value to every
	// datagram from the same sender while it remembers the sender.
	DatagramReceived(data []byte, addr net.Addr)
}

// DatagramStarter is implemented by datagram protocols that want to know
// when their port starts and stops listening (Twisted's startProtocol and
// stopProtocol).
type DatagramStarter interface {
	// StartProtocol is called once the port listens, with the port.
	StartProtocol(t DatagramTransport)
	// StopProtocol is called once the port has stopped listening.
	StopProtocol()
}

// ConnectionRefuser is implemented by datagram protocols of connected ports
// that want to know when the peer refused a datagram (an ICMP "port
// unreachable" came back): Twisted's connectionRefused.
type ConnectionRefuser interface {
	ConnectionRefused()
}

// A DatagramTransport is a UDP port as its protocol sees it (Twisted's
// IUDPTransport). Its methods must be called on the port's loop.
type DatagramTransport interface {
	// WriteTo sends b as one datagram to addr, a *net.UDPAddr.
	WriteTo(b []byte, addr net.Addr) error
	// Write sends b to the address the port is connected to.
	Write(b []byte) error
	// Connect connects the port to addr, an "ip:port" string: it then sends
	// to and receives from that address only.
	Connect(addr string) error
	// LocalAddr returns the address the port is bound to (Twisted's getHost).
	LocalAddr() net.Addr
	// RemoteAddr returns the address the port is connected to, or nil.
	RemoteAddr() net.Addr
	// StopListening closes the port.
	StopListening() *deferred.Deferred
}

// BaseDatagramProtocol implements DatagramProtocol, DatagramStarter and
// ConnectionRefuser with methods that do nothing but keep the transport, for
// datagram protocols to embed.
type BaseDatagramProtocol struct {
	// Transport is the port, set by StartProtocol.
	Transport DatagramTransport
}

// DatagramReceived discards the datagram.
func (p *BaseDatagramProtocol) DatagramReceived(data []byte, addr net.Addr) {}

// StartProtocol records the transport.
func (p *BaseDatagramProtocol) StartProtocol(t DatagramTransport) { p.Transport = t }

// StopProtocol does nothing.
func (p *BaseDatagramProtocol) StopProtocol() {}

// ConnectionRefused does nothing.
func (p *BaseDatagramProtocol) ConnectionRefused() {}

var (
	// ErrUDPNotSupported is returned by ListenUDP on systems where the
	// reactor cannot watch sockets (Windows).
	ErrUDPNotSupported = errors.New("internet: UDP is not supported on " + runtime.GOOS)
	// ErrUDPAddress is returned for an address that is not an IP address and
	// port: UDP ports never resolve host names, as in Twisted, since that
	// would block the loop.
	ErrUDPAddress = errors.New("internet: UDP needs an IP address and a port, not a host name")
	// ErrUDPConnected is returned by Connect on a connected port, and by
	// WriteTo to an address other than the one the port is connected to.
	ErrUDPConnected = errors.New("internet: UDP port is connected")
	// ErrUDPNotConnected is returned by Write on a port that is not connected.
	ErrUDPNotConnected = errors.New("internet: UDP port is not connected")
)

// MaxDatagramSize is the largest datagram a UDP port receives by default,
// and the largest any can: the size of the loop's read buffer.
const MaxDatagramSize = 64 << 10

// Bounds of one read turn, so that a flooded port cannot starve the loop's
// other descriptors: the port reads again on the next turn.
const (
	maxDatagramsPerRead = 64
	maxBytesPerRead     = 256 << 10 // Twisted's maxThroughput
)

// maxPeerCache bounds the senders whose *net.UDPAddr a port remembers.
const maxPeerCache = 1024

// UDPOption configures a UDP port made by ListenUDP.
type UDPOption func(*udpOptions)

type udpOptions struct {
	maxSize   int
	broadcast bool
}

// WithMaxDatagramSize sets the largest datagram the port receives, at most
// MaxDatagramSize (the default). Longer datagrams are dropped, not
// truncated, and counted by Dropped.
func WithMaxDatagramSize(n int) UDPOption {
	return func(o *udpOptions) { o.maxSize = n }
}

// WithBroadcast lets the port send to broadcast addresses from the start;
// see SetBroadcastAllowed.
func WithBroadcast() UDPOption {
	return func(o *udpOptions) { o.broadcast = true }
}

// UDPPort is a UDP socket watched by a reactor loop: Twisted's udp.Port. It
// is the DatagramTransport of its protocol and the reactor's
// FileDescriptor. Its methods must be called on its loop.
type UDPPort struct {
	loop    *reactor.Reactor
	proto   DatagramProtocol
	sock    udpSocket
	v6      bool
	maxSize int
	local   *net.UDPAddr
	peer    netip.AddrPort // valid when peerAddr != nil
	// peerAddr is the address the port is connected to, nil if none.
	peerAddr *net.UDPAddr
	closed   bool
	counts   udpCounts // stats.go
	// addrs keeps the net.Addr handed out for each recent sender, so that
	// steady traffic from known peers allocates nothing.
	addrs map[netip.AddrPort]*net.UDPAddr
}

var _ DatagramTransport = (*UDPPort)(nil)

// ListenUDP opens a UDP port bound to addr ("ip:port"; an empty ip is
// 0.0.0.0, port 0 picks a free port) and reads its datagrams on loop into
// p: Twisted's reactor.listenUDP. An IPv6 address makes an IPv6 socket. If
// p is a DatagramStarter, StartProtocol is called before ListenUDP returns.
// It must be called on the loop, or before the loop runs.
func ListenUDP(loop *reactor.Reactor, addr string, p DatagramProtocol, opts ...UDPOption) (*UDPPort, error) {
	o := udpOptions{maxSize: MaxDatagramSize}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxSize <= 0 || o.maxSize > MaxDatagramSize {
		return nil, fmt.Errorf("internet: datagram size limit %d is not in 1..%d", o.maxSize, MaxDatagramSize)
	}
	ap, err := parseUDPAddr(addr, true)
	if err != nil {
		return nil, err
	}
	port := &UDPPort{
		loop:    loop,
		proto:   p,
		v6:      !ap.Addr().Is4(),
		maxSize: o.maxSize,
		addrs:   make(map[netip.AddrPort]*net.UDPAddr),
	}
	if err := port.sock.open(ap); err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: err}
	}
	local, err := port.sock.localAddr()
	if err == nil && o.broadcast {
		err = port.sock.setBroadcast(true)
	}
	if err == nil {
		err = loop.AddReader(port)
	}
	if err != nil {
		port.sock.close()
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: err}
	}
	port.local = net.UDPAddrFromAddrPort(local)
	openUDPPorts.add(port)
	if s, ok := p.(DatagramStarter); ok {
		s.StartProtocol(port)
	}
	return port, nil
}

// parseUDPAddr parses "ip:port". Only a listening address may leave out the
// ip, which then means 0.0.0.0, as Twisted's interface="" does.
func parseUDPAddr(s string, listen bool) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %q: %v", ErrUDPAddress, s, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %q: bad port", ErrUDPAddress, s)
	}
	ip := netip.IPv4Unspecified()
	if host != "" || !listen {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %q", ErrUDPAddress, s)
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// Loop returns the loop that owns the port.
func (p *UDPPort) Loop() *reactor.Reactor { return p.loop }

// Fd returns the socket's descriptor, for the reactor.
func (p *UDPPort) Fd() int { return p.sock.fd }

// DoRead reads the waiting datagrams, up to a bound per turn, and hands
// each to the protocol. The reactor calls it when the socket is readable.
func (p *UDPPort) DoRead() {
	buf := p.loop.ReadBuffer()[:p.maxSize]
	read, got := 0, 0
reading:
	for range maxDatagramsPerRead {
		if p.closed || read >= maxBytesPerRead {
			break
		}
		n, from, err := p.sock.recv(buf)
		switch {
		case err == nil:
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			break reading
		case errors.Is(err, syscall.ECONNREFUSED):
			if r, ok := p.proto.(ConnectionRefuser); ok && p.peerAddr != nil {
				p.safely(r.ConnectionRefused)
			}
			continue
		default:
			// Other ICMP errors (unreachable host or network) are
			// reported once by the read that consumes them: the socket
			// goes on, as Twisted's does for the errors it knows.
			continue
		}
		if n > len(buf) {
			p.counts.dropped.Add(1)
			continue
		}
		read += n
		got++
		addr := p.senderAddr(from)
		p.safely(func() { p.proto.DatagramReceived(buf[:n], addr) })
	}
	if got > 0 { // counted once per turn, not per datagram
		p.counts.in.Add(uint64(got))
		p.counts.inBytes.Add(uint64(read))
	}
}

// safely calls f and keeps the port open if f panics: a protocol's bug with
// one datagram must not close a server, as in Twisted, which logs the error
// and reads on. The panic is raised again in a call of its own on the loop,
// so that the reactor logs it with the original stack.
func (p *UDPPort) safely(f func()) {
	defer func() {
		if v := recover(); v != nil {
			err := &datagramPanic{value: v, stack: debug.Stack()}
			p.loop.CallLater(0, func() { panic(err) })
		}
	}()
	f()
}

// datagramPanic carries a protocol's panic to the reactor's log.
type datagramPanic struct {
	value any
	stack []byte
}

func (e *datagramPanic) Error() string {
	return fmt.Sprintf("internet: datagram protocol panicked: %v\n%s", e.value, e.stack)
}

// senderAddr returns the net.Addr for a sender, allocating only for a
// sender it does not remember.
func (p *UDPPort) senderAddr(from netip.AddrPort) *net.UDPAddr {
	if a, ok := p.addrs[from]; ok {
		return a
	}
	if len(p.addrs) >= maxPeerCache {
		clear(p.addrs)
	}
	a := net.UDPAddrFromAddrPort(from)
	p.addrs[from] = a
	return a
}

// DoWrite is never called: writes go out at once or fail, as in Twisted.
func (p *UDPPort) DoWrite() {}

// ConnectionLost closes the port when the reactor drops it at shutdown.
func (p *UDPPort) ConnectionLost(reason error) { p.close() }

// Dropped returns how many datagrams the port dropped because they were
// longer than its size limit.
func (p *UDPPort) Dropped() uint64 { return p.counts.dropped.Load() }

// WriteTo sends b as one datagram to addr, which must be a *net.UDPAddr
// holding an IP address: Twisted's write(data, addr). UDP has no queue: a
// datagram the socket cannot take now (its buffer is full) is not sent, and
// WriteTo returns the error (errors.Is(err, syscall.EAGAIN)), as are
// datagrams too long for the network (syscall.EMSGSIZE). On a connected port
// addr must be the connected address, or nil.
func (p *UDPPort) WriteTo(b []byte, addr net.Addr) error {
	if addr == nil && p.peerAddr != nil {
		return p.Write(b)
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return fmt.Errorf("%w: %v", ErrUDPAddress, addr)
	}
	to := ua.AddrPort()
	if !to.Addr().IsValid() {
		return fmt.Errorf("%w: %v", ErrUDPAddress, addr)
	}
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	if p.peerAddr != nil {
		if to != p.peer {
			return fmt.Errorf("%w to %v: cannot send to %v", ErrUDPConnected, p.peerAddr, addr)
		}
		return p.Write(b)
	}
	if p.closed {
		return ErrConnectionClosed
	}
	err := p.sock.sendTo(b, to, p.v6)
	p.countSent(len(b), err)
	if err != nil {
		return p.writeError(err, ua)
	}
	return nil
}

// Write sends b to the address the port is connected to. A refusal of an
// earlier datagram may be reported here as well as by ConnectionRefused.
func (p *UDPPort) Write(b []byte) error {
	if p.closed {
		return ErrConnectionClosed
	}
	if p.peerAddr == nil {
		return ErrUDPNotConnected
	}
	err := p.sock.send(b)
	p.countSent(len(b), err)
	if errors.Is(err, syscall.ECONNREFUSED) {
		// Twisted tells the protocol, and the write itself succeeds.
		if r, ok := p.proto.(ConnectionRefuser); ok {
			r.ConnectionRefused()
		}
		return nil
	}
	if err != nil {
		return p.writeError(err, p.peerAddr)
	}
	return nil
}

func (p *UDPPort) writeError(err error, to net.Addr) error {
	return &net.OpError{Op: "write", Net: "udp", Source: p.local, Addr: to, Err: os.NewSyscallError("sendto", err)}
}

// Connect connects the port to addr, an "ip:port" string with an IP address
// (never a host name): the port then receives datagrams from that address
// only, Write sends there, and a datagram the peer refuses is reported to
// ConnectionRefuser. A port connects once: reconnecting returns
// ErrUDPConnected, as in Twisted.
func (p *UDPPort) Connect(addr string) error {
	if p.closed {
		return ErrConnectionClosed
	}
	if p.peerAddr != nil {
		return ErrUDPConnected
	}
	to, err := parseUDPAddr(addr, false)
	if err != nil {
		return err
	}
	if err := p.sock.connect(to, p.v6); err != nil {
		return &net.OpError{Op: "connect", Net: "udp", Source: p.local, Addr: net.UDPAddrFromAddrPort(to), Err: err}
	}
	p.peer = to
	p.peerAddr = net.UDPAddrFromAddrPort(to)
	return nil
}

// LocalAddr returns the address the port is bound to, a *net.UDPAddr. It
// may be called from any goroutine.
func (p *UDPPort) LocalAddr() net.Addr { return p.local }

// RemoteAddr returns the address the port is connected to, or nil.
func (p *UDPPort) RemoteAddr() net.Addr {
	if p.peerAddr == nil {
		return nil
	}
	return p.peerAddr
}

// StopListening closes the port, and then calls the protocol's
// StopProtocol. The returned Deferred has fired by then: closing a UDP
// socket never waits. Stopping a stopped port does nothing.
func (p *UDPPort) StopListening() *deferred.Deferred {
	p.close()
	return deferred.Succeed(nil)
}

func (p *UDPPort) close() {
	if p.closed {
		return
	}
	p.closed = true
	openUDPPorts.remove(p)
	_ = p.loop.RemoveReader(p)
	p.sock.close()
	if s, ok := p.proto.(DatagramStarter); ok {
		s.StopProtocol()
	}
}

// SetBroadcastAllowed allows or forbids sending to broadcast addresses
// (SO_BROADCAST).
func (p *UDPPort) SetBroadcastAllowed(on bool) error { return p.sockOpt(p.sock.setBroadcast(on)) }

// BroadcastAllowed reports whether the port may send to broadcast addresses.
func (p *UDPPort) BroadcastAllowed() (bool, error) {
	on, err := p.sock.broadcast()
	return on, p.sockOpt(err)
}

// JoinGroup joins the multicast group, an IP address, on the interface with
// the local address iface ("" for the system's choice; for IPv6, an
// interface name): Twisted's joinGroup.
func (p *UDPPort) JoinGroup(group, iface string) error { return p.membership(group, iface, true) }

// LeaveGroup leaves a multicast group joined by JoinGroup.
func (p *UDPPort) LeaveGroup(group, iface string) error { return p.membership(group, iface, false) }

func (p *UDPPort) membership(group, iface string, join bool) error {
	if p.closed {
		return ErrConnectionClosed
	}
	g, err := netip.ParseAddr(group)
	if err != nil || !g.IsMulticast() {
		return fmt.Errorf("internet: %q is not a multicast group address", group)
	}
	g = g.Unmap()
	if g.Is4() == p.v6 {
		return fmt.Errorf("internet: multicast group %s is not of the port's address family", g)
	}
	if g.Is4() {
		ifaddr := netip.IPv4Unspecified()
		if iface != "" {
			if ifaddr, err = netip.ParseAddr(iface); err != nil || !ifaddr.Is4() {
				return fmt.Errorf("%w: interface %q", ErrUDPAddress, iface)
			}
		}
		return p.sockOpt(p.sock.membership4(g, ifaddr, join))
	}
	index := 0
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		index = ifi.Index
	}
	return p.sockOpt(p.sock.membership6(g, index, join))
}

// SetMulticastLoopback sets whether the port's multicast datagrams are
// delivered to the sockets of this host that joined the group, itself
// included (Twisted's setLoopbackMode). It is on by default.
func (p *UDPPort) SetMulticastLoopback(on bool) error {
	return p.sockOpt(p.sock.setMulticastLoop(on, p.v6))
}

// MulticastLoopback reports the loopback mode.
func (p *UDPPort) MulticastLoopback() (bool, error) {
	on, err := p.sock.multicastLoop(p.v6)
	return on, p.sockOpt(err)
}

// SetMulticastTTL sets the time to live (IPv6: hop limit) of the port's
// multicast datagrams (Twisted's setTTL). It is 1 by default.
func (p *UDPPort) SetMulticastTTL(ttl int) error {
	return p.sockOpt(p.sock.setMulticastTTL(ttl, p.v6))
}

// MulticastTTL returns the time to live of the port's multicast datagrams.
func (p *UDPPort) MulticastTTL() (int, error) {
	ttl, err := p.sock.multicastTTL(p.v6)
	return ttl, p.sockOpt(err)
}

// sockOpt wraps the error of a socket option call, and reports a closed
// port as such.
func (p *UDPPort) sockOpt(err error) error {
	if p.closed {
		return ErrConnectionClosed
	}
	if err != nil {
		return os.NewSyscallError("sockopt", err)
	}
	return nil
}
