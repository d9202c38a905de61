package internet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

var (
	// ErrConnectFailed matches every reason a connection attempt failed
	// (Twisted's ConnectError); the cause is wrapped with it.
	ErrConnectFailed = errors.New("internet: connect failed")
	// ErrConnectionRefused is the reason when the peer refused the
	// connection (Twisted's ConnectionRefusedError); it matches
	// ErrConnectFailed too, and the errno (ECONNREFUSED) is wrapped with it.
	ErrConnectionRefused = fmt.Errorf("%w: connection refused", ErrConnectFailed)
	// ErrTimeout is the reason when the connector's time-out passed first
	// (Twisted's TimeoutError); it matches ErrConnectFailed too.
	ErrTimeout = fmt.Errorf("%w: timed out", ErrConnectFailed)
	// ErrConnectingStopped is the reason when StopConnecting ended the
	// attempt (Twisted's UserError); it matches ErrConnectFailed too.
	ErrConnectingStopped = fmt.Errorf("%w: stopped by the user", ErrConnectFailed)
	// ErrNotConnecting is returned by StopConnecting when no attempt is in
	// progress (Twisted's NotConnectingError).
	ErrNotConnecting = errors.New("internet: not connecting")
	// ErrConnectorBusy is returned by Connect when the connector is not
	// disconnected.
	ErrConnectorBusy = errors.New("internet: connector is connecting or connected")
)

// DefaultConnectTimeout is how long a connector waits for a connection
// (Twisted's default timeout of connectTCP).
const DefaultConnectTimeout = 30 * time.Second

// A ClientFactory builds the protocol of a client connection and hears how
// its connector fares (Twisted's ClientFactory). Its methods are called on
// the connector's loop. Embed BaseClientFactory for no-op methods.
//
// A ClientFactory that has StartedConnecting (the ConnectingStarter
// interface) is told each time its connector starts an attempt.
type ClientFactory interface {
	Factory
	// ClientConnectionFailed is called when an attempt to connect failed;
	// reason matches ErrConnectFailed. It may call c.Connect to try again.
	ClientConnectionFailed(c Connector, reason error)
	// ClientConnectionLost is called when an established connection is
	// gone, with the reason its protocol got. It may call c.Connect.
	ClientConnectionLost(c Connector, reason error)
}

// ConnectingStarter is implemented by client factories that want to know
// when an attempt starts.
type ConnectingStarter interface {
	StartedConnecting(c Connector)
}

// BaseClientFactory implements the methods of ClientFactory other than
// BuildProtocol, and ConnectingStarter, as no-ops, for embedding.
type BaseClientFactory struct{}

// ClientConnectionFailed does nothing.
func (BaseClientFactory) ClientConnectionFailed(c Connector, reason error) {}

// ClientConnectionLost does nothing.
func (BaseClientFactory) ClientConnectionLost(c Connector, reason error) {}

// StartedConnecting does nothing.
func (BaseClientFactory) StartedConnecting(c Connector) {}

// A ConnectOption configures a connector.
type ConnectOption interface{ applyConnect(*connectConfig) }

type connectConfig struct {
	timeout time.Duration
	bind    string
	shared  connShared // of every connection the connector makes
}

type connectOption func(*connectConfig)

func (o connectOption) applyConnect(c *connectConfig) { o(c) }

// WithTimeout sets how long each attempt may take before it fails with
// ErrTimeout; zero or less means no limit. The default is
// DefaultConnectTimeout.
func WithTimeout(d time.Duration) ConnectOption {
	return connectOption(func(c *connectConfig) { c.timeout = d })
}

// WithBindAddr binds the client's socket to addr ("host:port", port 0 for
// any) before connecting (Twisted's bindAddress).
func WithBindAddr(addr string) ConnectOption {
	return connectOption(func(c *connectConfig) { c.bind = addr })
}

// ConnectorState is where a Connector is in its life.
type ConnectorState int

// The states of a Connector, as Twisted names them.
const (
	Disconnected ConnectorState = iota
	Connecting
	Connected
)

// String returns "disconnected", "connecting" or "connected".
func (s ConnectorState) String() string {
	switch s {
	case Disconnected:
		return "disconnected"
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	}
	return fmt.Sprintf("ConnectorState(%d)", int(s))
}

// A Connector makes and remakes a client connection to one address for
// one client factory (Twisted's IConnector). The factory's methods get it,
// so that a factory can connect again or give up; ConnectTCP, ConnectUnix
// and ConnectTLS make a *StreamConnector, and a fake, such as twisttest's
// MemoryConnector, lets a factory be tested without a loop or a socket.
type Connector interface {
	// Connect starts an attempt to connect; it returns ErrConnectorBusy
	// unless the connector is disconnected.
	Connect() error
	// StopConnecting ends the attempt in progress, which fails with
	// ErrConnectingStopped; it returns ErrNotConnecting if there is none.
	StopConnecting() error
	// Disconnect stops connecting, or closes the connection, whichever
	// applies.
	Disconnect()
	// DestinationAddr returns the address the connector connects to.
	DestinationAddr() net.Addr
	// State returns where the connector is in its life.
	State() ConnectorState
	// Transport returns the connection while connected, and nil otherwise.
	Transport() Transport
}

// StreamConnector is the Connector of TCP and Unix stream connections
// (Twisted's BaseConnector): ConnectTCP, ConnectUnix and ConnectTLS return
// one. Its methods must be called on its loop.
type StreamConnector struct {
	loop    *reactor.Reactor
	factory ClientFactory
	cfg     connectConfig
	dest    string
	addr    net.Addr // fixed destination, or nil: resolve dest each attempt
	last    net.Addr // the destination last resolved
	resolve func(context.Context) (net.Addr, error)
	state   ConnectorState
	started bool // the factory's StartFactory has been called
	attempt *attempt
	conn    *Conn
	counts  *clientCounts // stats.go
}

func newConnector(loop *reactor.Reactor, f ClientFactory, opts []ConnectOption, resolve func(context.Context) (net.Addr, error)) *StreamConnector {
	k := clientShard(loop)
	c := &StreamConnector{loop: loop, factory: f, resolve: resolve, counts: k,
		cfg: connectConfig{timeout: DefaultConnectTimeout, shared: connShared{limits: defaultLimits, counts: &k.connCounts}}}
	for _, o := range opts {
		o.applyConnect(&c.cfg)
	}
	return c
}

// State returns the connector's state.
func (c *StreamConnector) State() ConnectorState { return c.state }

// DestinationAddr returns the address the connector connects to: nil only
// while a host name is being resolved for the first time.
func (c *StreamConnector) DestinationAddr() net.Addr {
	if c.addr != nil {
		return c.addr
	}
	return c.last
}

// Transport returns the connection while connected, and nil otherwise.
func (c *StreamConnector) Transport() Transport {
	if c.conn == nil {
		return nil
	}
	return c.conn
}

// Loop returns the connector's loop.
func (c *StreamConnector) Loop() *reactor.Reactor { return c.loop }

// Connect starts an attempt to connect. ConnectTCP and ConnectUnix call it
// once; call it again, when the connector is disconnected, to reconnect.
// It returns ErrConnectorBusy in the other states.
func (c *StreamConnector) Connect() error {
	if c.state != Disconnected {
		return ErrConnectorBusy
	}
	c.state = Connecting
	c.counts.attempts.Add(1)
	if !c.started {
		startFactory(c.factory)
		c.started = true
	}
	a := &attempt{c: c, fd: -1}
	c.attempt = a
	if c.cfg.timeout > 0 {
		a.timeout = c.loop.CallLater(c.cfg.timeout, func() { a.fail(ErrTimeout) })
	}
	if s, ok := c.factory.(ConnectingStarter); ok {
		s.StartedConnecting(c)
		if a.done {
			return nil
		}
	}
	if c.addr == nil {
		if ap, err := netip.ParseAddrPort(c.dest); err == nil {
			c.addr = net.TCPAddrFromAddrPort(ap)
		}
	}
	if c.addr != nil {
		a.dial(c.addr)
		return nil
	}
	var ctx context.Context
	ctx, a.cancel = context.WithCancel(context.Background())
	go func() {
		addr, err := c.resolve(ctx)
		c.loop.CallFromThread(func() {
			if a.done {
				return
			}
			if err != nil {
				a.fail(&causeError{ErrConnectFailed, err})
				return
			}
			c.last = addr
			a.dial(addr)
		})
	}()
	return nil
}

// StopConnecting ends the attempt in progress: the factory's
// ClientConnectionFailed is called at once with ErrConnectingStopped. It
// returns ErrNotConnecting if the connector is not connecting.
func (c *StreamConnector) StopConnecting() error {
	if c.state != Connecting {
		return ErrNotConnecting
	}
	c.attempt.fail(ErrConnectingStopped)
	return nil
}

// Disconnect stops connecting, or closes the connection with
// LoseConnection, whichever applies.
func (c *StreamConnector) Disconnect() {
	switch c.state {
	case Connecting:
		_ = c.StopConnecting()
	case Connected:
		c.conn.LoseConnection()
	}
}

// failed ends an attempt that did not connect.
func (c *StreamConnector) failed(reason error) {
	c.attempt = nil
	c.state = Disconnected
	c.counts.countFailed(reason)
	c.factory.ClientConnectionFailed(c, reason)
	c.stopFactoryIfIdle()
}

// lost ends a connection that was made.
func (c *StreamConnector) lost(reason error) {
	c.conn = nil
	c.state = Disconnected
	c.factory.ClientConnectionLost(c, reason)
	c.stopFactoryIfIdle()
}

// stopFactoryIfIdle stops the factory unless it called Connect again.
func (c *StreamConnector) stopFactoryIfIdle() {
	if c.state == Disconnected && c.started {
		c.started = false
		stopFactory(c.factory)
	}
}

// connected starts the connection on the socket fd, now connected to
// remote. A factory that builds no protocol gets the connection closed.
func (c *StreamConnector) connected(fd int, remote net.Addr) {
	c.attempt = nil
	c.state = Connected
	if _, tcp := remote.(*net.TCPAddr); tcp {
		// See Port.serve for why TCP_NODELAY is on.
		_ = sysSetNoDelay(fd, true)
	}
	conn := newConn(c.loop, fd, remote, &c.cfg.shared)
	c.counts.accepted.Add(1)
	c.counts.open.Add(1)
	x := conn.extra()
	x.local = sysLocalAddr(fd)
	x.lost = c.lost
	c.conn = conn
	p := c.factory.BuildProtocol(remote)
	if p == nil {
		conn.start(&BaseProtocol{})
		conn.LoseConnection()
		return
	}
	conn.start(p)
	if n, ok := c.factory.(connectNotifier); ok {
		n.connectionMade(conn)
	}
}

// connectNotifier is implemented by the factory of ConnectProtocol, which
// fires its Deferred once the protocol's ConnectionMade has run.
type connectNotifier interface{ connectionMade(c *Conn) }

// attempt is one try at connecting: a socket waiting to become writable.
// It is the reactor.FileDescriptor the loop calls meanwhile.
type attempt struct {
	c       *StreamConnector
	fd      int
	done    bool
	timeout clock.DelayedCall
	cancel  context.CancelFunc // of a host name lookup
	remote  net.Addr
}

// dial opens the socket and starts connecting it to addr. Failures are
// reported on the next turn of the loop, never from inside Connect.
func (a *attempt) dial(addr net.Addr) {
	a.remote = addr
	var bind net.Addr
	if a.c.cfg.bind != "" {
		b, err := resolveTCP(context.Background(), a.c.cfg.bind, true)
		if err != nil {
			a.failLater(&causeError{ErrConnectFailed, err})
			return
		}
		bind = b
	}
	fd, err := sysConnect(addr, bind)
	if err != nil {
		a.failLater(connectError(err))
		return
	}
	a.fd = fd
	if err := a.c.loop.AddWriter(a); err != nil {
		a.failLater(&causeError{ErrConnectFailed, err})
	}
}

func (a *attempt) failLater(reason error) {
	a.c.loop.CallLater(0, func() { a.fail(reason) })
}

// Fd returns the connecting socket's descriptor.
func (a *attempt) Fd() int { return a.fd }

// DoRead is never called: an attempt watches only for writing.
func (a *attempt) DoRead() {}

// DoWrite is called when the connect has finished, one way or the other.
func (a *attempt) DoWrite() {
	if a.done {
		return
	}
	if err := sysSocketError(a.fd); err != nil {
		a.fail(connectError(err))
		return
	}
	a.finish()
	_ = a.c.loop.RemoveWriter(a)
	a.c.connected(a.fd, a.remote)
}

// ConnectionLost fails the attempt when the loop drops it (at shutdown).
func (a *attempt) ConnectionLost(reason error) { a.fail(&causeError{ErrConnectFailed, reason}) }

// finish marks the attempt done and stops its timer and its lookup.
func (a *attempt) finish() {
	a.done = true
	if a.timeout != nil {
		_ = a.timeout.Cancel()
	}
	if a.cancel != nil {
		a.cancel()
	}
}

// fail ends the attempt with reason, closing its socket, once.
func (a *attempt) fail(reason error) {
	if a.done {
		return
	}
	a.finish()
	if a.fd >= 0 {
		_ = a.c.loop.RemoveWriter(a)
		sysClose(a.fd, true)
	}
	a.c.failed(reason)
}

// connectError classifies the error of a connect.
func connectError(err error) error {
	if isRefused(err) {
		return &causeError{ErrConnectionRefused, err}
	}
	return &causeError{ErrConnectFailed, err}
}

// ConnectProtocol connects p to addr over TCP (Twisted's connectProtocol):
// the returned Deferred fires with p once its ConnectionMade has run, or
// fails with the reason the connection could not be made. Cancelling the
// Deferred stops the attempt. It must be called on loop.
func ConnectProtocol(loop *reactor.Reactor, addr string, p Protocol, opts ...ConnectOption) *deferred.Deferred {
	f := &singleFactory{p: p}
	f.d = deferred.NewWithCanceller(func(*deferred.Deferred) { _ = f.c.StopConnecting() })
	f.c = ConnectTCP(loop, addr, f, opts...)
	return f.d
}

// singleFactory is ConnectProtocol's factory: one protocol, one attempt.
type singleFactory struct {
	BaseClientFactory
	p Protocol
	d *deferred.Deferred
	c *StreamConnector
}

func (f *singleFactory) BuildProtocol(net.Addr) Protocol { return f.p }

func (f *singleFactory) connectionMade(*Conn) { f.d.Callback(f.p) }

func (f *singleFactory) ClientConnectionFailed(_ Connector, reason error) {
	if !f.d.Called() {
		f.d.Errback(reason)
	}
}
