package twisttest

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// MemoryReactor records the ports opened and the connections started through
// it, as an internet.Net without the clock, and opens no socket (Twisted's
// MemoryReactor). The test then plays the network's part: it connects the
// protocols the factories build to StringTransports, or fails the attempts.
// Use it from one goroutine, the test's.
type MemoryReactor struct {
	// TCPServers are the ListenTCP calls, in order.
	TCPServers []*MemoryPort
	// TCPClients are the ConnectTCP calls, in order.
	TCPClients []*MemoryConnector
	// UnixServers are the ListenUnix calls, in order.
	UnixServers []*MemoryPort
	// UnixClients are the ConnectUnix calls, in order.
	UnixClients []*MemoryConnector
	// UDPPorts are the ListenUDP calls, in order.
	UDPPorts []*MemoryUDPPort

	// SystemEvents holds the system event triggers: AddSystemEventTrigger,
	// RemoveSystemEventTrigger and FireSystemEvent work as a Reactor's.
	reactor.SystemEvents
	running, stopping, hasRun, hasStopped bool
}

// MemoryReactorClock is a MemoryReactor with a fake clock: an internet.Net whose time
// moves only when the test advances it (Twisted's MemoryReactorClock).
type MemoryReactorClock struct {
	*MemoryReactor
	*Clock
}

// NewMemoryReactorClock returns a MemoryReactorClock with nothing recorded
// and its clock at task.Epoch.
func NewMemoryReactorClock() *MemoryReactorClock {
	return &MemoryReactorClock{MemoryReactor: &MemoryReactor{}, Clock: NewClock()}
}

// ListenTCP records the call and returns its port.
func (m *MemoryReactor) ListenTCP(addr string, f internet.Factory, opts ...internet.ListenOption) (internet.ListeningPort, error) {
	p := &MemoryPort{Address: addr, Factory: f, Options: opts, addr: tcpAddr(addr)}
	m.TCPServers = append(m.TCPServers, p)
	return p, nil
}

// ListenUnix records the call and returns its port.
func (m *MemoryReactor) ListenUnix(path string, f internet.Factory, opts ...internet.ListenOption) (internet.ListeningPort, error) {
	p := &MemoryPort{Address: path, Factory: f, Options: opts, addr: &net.UnixAddr{Name: path, Net: "unix"}}
	m.UnixServers = append(m.UnixServers, p)
	return p, nil
}

// ConnectTCP records the call and returns its connector, which is connecting
// until the test calls Complete or Fail on it. A factory that is an
// internet.ConnectingStarter is told at once that the attempt started.
func (m *MemoryReactor) ConnectTCP(addr string, f internet.ClientFactory, opts ...internet.ConnectOption) internet.Connector {
	c := newMemoryConnector(addr, tcpAddr(addr), f, opts)
	m.TCPClients = append(m.TCPClients, c)
	return c
}

// ConnectUnix records the call and returns its connector; see ConnectTCP.
func (m *MemoryReactor) ConnectUnix(path string, f internet.ClientFactory, opts ...internet.ConnectOption) internet.Connector {
	c := newMemoryConnector(path, &net.UnixAddr{Name: path, Net: "unix"}, f, opts)
	m.UnixClients = append(m.UnixClients, c)
	return c
}

// ListenUDP records the call and returns its port. A protocol that is an
// internet.DatagramStarter is started at once.
func (m *MemoryReactor) ListenUDP(addr string, p internet.DatagramProtocol, opts ...internet.UDPOption) (internet.DatagramTransport, error) {
	u := &MemoryUDPPort{Address: addr, Protocol: p, Options: opts, local: tcpAddrAs(addr, "udp")}
	m.UDPPorts = append(m.UDPPorts, u)
	if s, ok := p.(internet.DatagramStarter); ok {
		s.StartProtocol(u)
	}
	return u, nil
}

// memAddr is the address of a host name, which a MemoryReactor never
// resolves.
type memAddr struct{ network, s string }

func (a memAddr) Network() string { return a.network }
func (a memAddr) String() string  { return a.s }

func tcpAddr(s string) net.Addr { return tcpAddrAs(s, "tcp") }

// tcpAddrAs parses "ip:port" into a *net.TCPAddr or *net.UDPAddr, an empty
// host meaning 0.0.0.0 as for ListenTCP; anything else is kept as written.
func tcpAddrAs(s, network string) net.Addr {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return memAddr{network, s}
	}
	if host == "" {
		host = "0.0.0.0"
	}
	ip, err1 := netip.ParseAddr(host)
	p, err2 := strconv.ParseUint(portStr, 10, 16)
	if err1 != nil || err2 != nil {
		return memAddr{network, s}
	}
	ap := netip.AddrPortFrom(ip, uint16(p))
	if network == "udp" {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

// MemoryPort is a ListenTCP or ListenUnix call recorded by a MemoryReactor,
// and the Port it returned.
type MemoryPort struct {
	// Address is the address or path passed to Listen.
	Address string
	// Factory is the factory passed to Listen.
	Factory internet.Factory
	// Options are the options passed to Listen.
	Options []internet.ListenOption

	addr    net.Addr
	stopped bool
}

// Addr returns Address parsed: a *net.TCPAddr for an IP address and port,
// a *net.UnixAddr for a path.
func (p *MemoryPort) Addr() net.Addr { return p.addr }

// StopListening records that the port was closed and returns a fired
// Deferred.
func (p *MemoryPort) StopListening() *deferred.Deferred {
	p.stopped = true
	return deferred.Succeed(nil)
}

// Stopped reports whether StopListening has been called.
func (p *MemoryPort) Stopped() bool { return p.stopped }

// Accept plays an incoming connection over tr: it builds the factory's
// protocol for tr.RemoteAddr() and calls its ConnectionMade with tr. It returns
// the protocol, or nil if the factory refused the connection.
func (p *MemoryPort) Accept(tr internet.Transport) internet.Protocol {
	proto := p.Factory.BuildProtocol(tr.RemoteAddr())
	if proto != nil {
		proto.ConnectionMade(tr)
	}
	return proto
}

// MemoryConnector is a ConnectTCP or ConnectUnix call recorded by a
// MemoryReactor, and the internet.Connector it returned, which the factory's
// methods get (Twisted's MemoryReactor connector). The test decides how each
// attempt goes with Complete or Fail, and ends a connection with Lose. A
// factory that calls Connect to try again, as a ReconnectingClientFactory
// does, starts a new attempt on the same MemoryConnector, which the test
// settles the same way.
type MemoryConnector struct {
	// Address is the address or path passed to ConnectTCP or ConnectUnix.
	Address string
	// Factory is the factory passed to ConnectTCP or ConnectUnix.
	Factory internet.ClientFactory
	// Options are the options passed to ConnectTCP or ConnectUnix.
	Options []internet.ConnectOption

	addr      net.Addr
	state     internet.ConnectorState
	transport internet.Transport
	protocol  internet.Protocol
	attempts  int
}

func newMemoryConnector(address string, addr net.Addr, f internet.ClientFactory, opts []internet.ConnectOption) *MemoryConnector {
	c := &MemoryConnector{Address: address, Factory: f, Options: opts, addr: addr}
	_ = c.Connect() // a new connector is disconnected
	return c
}

// Connect starts a new attempt, as a factory does to reconnect: the
// connector is connecting again, Attempts counts one more, and a factory
// that is an internet.ConnectingStarter is told. It returns
// internet.ErrConnectorBusy unless the connector is disconnected.
func (c *MemoryConnector) Connect() error {
	if c.state != internet.Disconnected {
		return internet.ErrConnectorBusy
	}
	c.state = internet.Connecting
	c.attempts++
	if s, ok := c.Factory.(internet.ConnectingStarter); ok {
		s.StartedConnecting(c)
	}
	return nil
}

// Attempts returns how many attempts have started: the first when the
// connector was made, then one per Connect that did not fail.
func (c *MemoryConnector) Attempts() int { return c.attempts }

// Complete completes the attempt over tr: it builds the factory's protocol
// and calls its ConnectionMade with tr, and returns the protocol. If the
// factory builds none, the attempt fails as with
// Fail(internet.ErrConnectFailed) and Complete returns nil. It panics if the
// connector is not connecting.
func (c *MemoryConnector) Complete(tr internet.Transport) internet.Protocol {
	c.mustBe(internet.Connecting, "Complete")
	p := c.Factory.BuildProtocol(c.addr)
	if p == nil {
		c.Fail(internet.ErrConnectFailed)
		return nil
	}
	c.state, c.transport, c.protocol = internet.Connected, tr, p
	p.ConnectionMade(tr)
	return p
}

// Fail ends the attempt: the factory's ClientConnectionFailed gets reason.
// It panics if the connector is not connecting.
func (c *MemoryConnector) Fail(reason error) {
	c.mustBe(internet.Connecting, "Fail")
	c.state = internet.Disconnected
	c.Factory.ClientConnectionFailed(c, reason)
}

// Lose ends the connection: the protocol's ConnectionLost and then the
// factory's ClientConnectionLost get reason. It panics if the connector is
// not connected.
func (c *MemoryConnector) Lose(reason error) {
	c.mustBe(internet.Connected, "Lose")
	p := c.protocol
	c.state, c.transport, c.protocol = internet.Disconnected, nil, nil
	p.ConnectionLost(reason)
	c.Factory.ClientConnectionLost(c, reason)
}

func (c *MemoryConnector) mustBe(s internet.ConnectorState, op string) {
	if c.state != s {
		panic("twisttest: MemoryConnector." + op + " on a " + c.state.String() + " connector")
	}
}

// Disconnect stops the attempt as StopConnecting does, or closes the
// connection's transport with LoseConnection; the test then calls Lose to
// deliver the loss, as the network would.
func (c *MemoryConnector) Disconnect() {
	switch c.state {
	case internet.Connecting:
		_ = c.StopConnecting()
	case internet.Connected:
		c.transport.LoseConnection()
	}
}

// StopConnecting fails the attempt with internet.ErrConnectingStopped, or
// returns internet.ErrNotConnecting if there is none.
func (c *MemoryConnector) StopConnecting() error {
	if c.state != internet.Connecting {
		return internet.ErrNotConnecting
	}
	c.Fail(internet.ErrConnectingStopped)
	return nil
}

// DestinationAddr returns Address parsed, as MemoryPort.Addr does.
func (c *MemoryConnector) DestinationAddr() net.Addr { return c.addr }

// State returns the connector's state: connecting from the start.
func (c *MemoryConnector) State() internet.ConnectorState { return c.state }

// Transport returns the transport given to Complete while connected.
func (c *MemoryConnector) Transport() internet.Transport { return c.transport }

// Protocol returns the protocol built by Complete while connected.
func (c *MemoryConnector) Protocol() internet.Protocol { return c.protocol }

// A Datagram is a datagram written to a MemoryUDPPort.
type Datagram struct {
	// Data is the datagram's content.
	Data []byte
	// Addr is where it was sent: the connected address for Write.
	Addr net.Addr
}

// MemoryUDPPort is a ListenUDP call recorded by a MemoryReactor, and the
// internet.DatagramTransport it returned: it keeps the datagrams written to
// it.
type MemoryUDPPort struct {
	// Address is the address passed to ListenUDP.
	Address string
	// Protocol is the protocol passed to ListenUDP.
	Protocol internet.DatagramProtocol
	// Options are the options passed to ListenUDP.
	Options []internet.UDPOption
	// Written are the datagrams written, in order.
	Written []Datagram

	local, remote net.Addr
	stopped       bool
}

// WriteTo records a copy of b as sent to addr.
func (u *MemoryUDPPort) WriteTo(b []byte, addr net.Addr) error {
	if u.remote != nil && addr == nil {
		addr = u.remote
	}
	u.Written = append(u.Written, Datagram{Data: append([]byte(nil), b...), Addr: addr})
	return nil
}

// Write records a copy of b as sent to the connected address, or returns
// internet.ErrUDPNotConnected.
func (u *MemoryUDPPort) Write(b []byte) error {
	if u.remote == nil {
		return internet.ErrUDPNotConnected
	}
	return u.WriteTo(b, u.remote)
}

// Connect records addr as the connected address; a second Connect returns
// internet.ErrUDPConnected.
func (u *MemoryUDPPort) Connect(addr string) error {
	if u.remote != nil {
		return internet.ErrUDPConnected
	}
	u.remote = tcpAddrAs(addr, "udp")
	return nil
}

// LocalAddr returns Address parsed.
func (u *MemoryUDPPort) LocalAddr() net.Addr { return u.local }

// RemoteAddr returns the connected address, or nil.
func (u *MemoryUDPPort) RemoteAddr() net.Addr { return u.remote }

// StopListening records that the port was closed and, the first time, calls
// the protocol's StopProtocol if it is an internet.DatagramStarter.
func (u *MemoryUDPPort) StopListening() *deferred.Deferred {
	if !u.stopped {
		u.stopped = true
		if s, ok := u.Protocol.(internet.DatagramStarter); ok {
			s.StopProtocol()
		}
	}
	return deferred.Succeed(nil)
}

// Stopped reports whether StopListening has been called.
func (u *MemoryUDPPort) Stopped() bool { return u.stopped }

// Receive delivers a datagram from addr to the protocol.
func (u *MemoryUDPPort) Receive(data []byte, addr net.Addr) { u.Protocol.DatagramReceived(data, addr) }
