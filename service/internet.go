package service

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// portServer is what the services that keep a port open while they run
// share: StartService opens it, StopService closes it, and both log it as
// Twisted does.
type portServer struct {
	Base
	kind string // "TCP", "TLS", "Unix" or "UDP", for the log
	// where is the address or path listened on, for errors; "" for an
	// endpoint, whose errors name its description.
	where string
	name  string // what the log calls the factory or protocol
	open  func() (stop func() *deferred.Deferred, addr net.Addr, err error)
	stop  func() *deferred.Deferred
	addr  net.Addr
}

// StartService opens the port, and logs it as Twisted does:
// "EchoFactory starting on 8000".
func (s *portServer) StartService() error {
	stop, addr, err := s.open()
	if err != nil {
		if s.where == "" {
			return err
		}
		return &ListenError{Kind: s.kind, Addr: s.where, Err: err}
	}
	s.stop, s.addr = stop, addr
	slog.Default().Info(fmt.Sprintf("%s starting on %s", s.name, portString(addr)))
	return s.Base.StartService()
}

// StopService closes the port and logs "(TCP Port 8000 Closed)". The
// Deferred has fired: closing a port does not wait. Connections already
// accepted are not closed.
func (s *portServer) StopService() *deferred.Deferred {
	s.Base.StopService()
	if s.stop == nil {
		return nil
	}
	d := s.stop()
	slog.Default().Info(fmt.Sprintf("(%s Port %s Closed)", s.kind, portString(s.addr)))
	s.stop, s.addr = nil, nil
	return d
}

// Addr returns the address of the open port, with the port number the
// system chose; nil while the port is closed.
func (s *portServer) Addr() net.Addr { return s.addr }

// ListenError is the error of a server service that cannot open its port:
// it names the port and the cause in plain words, as in
// "cannot listen on TCP 127.0.0.1:8080: address already in use".
type ListenError struct {
	// Kind is "TCP", "TLS", "Unix" or "UDP".
	Kind string
	// Addr is the address or path as given.
	Addr string
	// Err is the cause.
	Err error
}

func (e *ListenError) Error() string {
	cause := e.Err
	var se *os.SyscallError
	if errors.As(cause, &se) {
		cause = se.Err // "address already in use", not "bind: address already in use"
	}
	return fmt.Sprintf("cannot listen on %s %s: %v", e.Kind, e.Addr, cause)
}

// Unwrap returns the cause.
func (e *ListenError) Unwrap() error { return e.Err }

// A StreamServer is a service that listens on a stream socket while it runs
// (Twisted's TCPServer and UNIXServer): StartService listens, StopService
// stops listening. Connections already accepted are not closed by stopping.
// Make one with TCPServer, TLSServer or UnixServer.
type StreamServer struct{ portServer }

// streamServer makes the StreamServer whose port listen opens.
func streamServer(kind, where string, f internet.Factory, listen func() (*internet.Port, error)) *StreamServer {
	return &StreamServer{portServer{kind: kind, where: where, name: logPrefix(f), open: func() (func() *deferred.Deferred, net.Addr, error) {
		port, err := listen()
		if err != nil {
			return nil, nil, err
		}
		return port.StopListening, port.Addr(), nil
	}}}
}

// TCPServer returns a service that listens for TCP connections on addr
// ("host:port"; port 0 lets the system choose, see Addr) on loop, serving
// them with f: Twisted's TCPServer.
func TCPServer(loop *reactor.Reactor, addr string, f internet.Factory, opts ...internet.ListenOption) *StreamServer {
	return streamServer("TCP", addr, f, func() (*internet.Port, error) {
		return internet.ListenTCP(loop, addr, f, opts...)
	})
}

// TLSServer returns a service that listens for TCP connections on addr on
// loop, as TCPServer does, and serves each over TLS with cfg, which must
// hold the server's certificate, with a protocol from f: Twisted's
// SSLServer. See internet.ListenTLS.
func TLSServer(loop *reactor.Reactor, addr string, cfg *tls.Config, f internet.Factory, opts ...internet.ListenOption) *StreamServer {
	return streamServer("TLS", addr, f, func() (*internet.Port, error) {
		return internet.ListenTLS(loop, addr, cfg, f, opts...)
	})
}

// UnixServer returns a service that listens for connections on the Unix
// socket at path on loop, serving them with f: Twisted's UNIXServer.
func UnixServer(loop *reactor.Reactor, path string, f internet.Factory, opts ...internet.ListenOption) *StreamServer {
	return streamServer("Unix", path, f, func() (*internet.Port, error) {
		return internet.ListenUnix(loop, path, f, opts...)
	})
}

// UDPServerService is a service that has a UDP port open while it runs
// (Twisted's UDPServer). Make one with UDPServer.
type UDPServerService struct{ portServer }

// UDPServer returns a service that opens a UDP port bound to addr on loop
// and hands its datagrams to p: Twisted's UDPServer.
func UDPServer(loop *reactor.Reactor, addr string, p internet.DatagramProtocol, opts ...internet.UDPOption) *UDPServerService {
	return &UDPServerService{portServer{kind: "UDP", where: addr, name: logPrefix(p), open: func() (func() *deferred.Deferred, net.Addr, error) {
		port, err := internet.ListenUDP(loop, addr, p, opts...)
		if err != nil {
			return nil, nil, err
		}
		return port.StopListening, port.LocalAddr(), nil
	}}}
}

// A ClientService is a service that keeps a client connection while it runs
// (Twisted's TCPClient and UNIXClient): StartService connects, StopService
// disconnects. Reconnecting is the factory's business: with an
// *internet.ReconnectingClientFactory the client comes back after each loss
// until the service stops. Make one with TCPClient or UnixClient.
type ClientService struct {
	Base
	factory   internet.ClientFactory
	connect   func() *internet.StreamConnector
	connector *internet.StreamConnector
}

// stopTrying is implemented by factories that retry, such as
// ReconnectingClientFactory: a stopping service tells them to give up.
type stopTrying interface{ StopTrying() }

// resetDelay is the other half: a restarted service lets them retry again.
type resetDelay interface{ ResetDelay() }

// TCPClient returns a service that connects to addr on loop with f:
// Twisted's TCPClient.
func TCPClient(loop *reactor.Reactor, addr string, f internet.ClientFactory, opts ...internet.ConnectOption) *ClientService {
	return &ClientService{factory: f, connect: func() *internet.StreamConnector {
		return internet.ConnectTCP(loop, addr, f, opts...)
	}}
}

// UnixClient returns a service that connects to the Unix socket at path on
// loop with f: Twisted's UNIXClient.
func UnixClient(loop *reactor.Reactor, path string, f internet.ClientFactory, opts ...internet.ConnectOption) *ClientService {
	return &ClientService{factory: f, connect: func() *internet.StreamConnector {
		return internet.ConnectUnix(loop, path, f, opts...)
	}}
}

// StartService starts connecting. A connection that fails is reported to
// the factory, not here.
func (c *ClientService) StartService() error {
	if r, ok := c.factory.(resetDelay); ok {
		r.ResetDelay()
	}
	c.connector = c.connect()
	return c.Base.StartService()
}

// StopService stops a reconnecting factory from retrying, then stops
// connecting or closes the connection. It returns nil, as Twisted's does:
// the connection closes on its own after that.
func (c *ClientService) StopService() *deferred.Deferred {
	c.Base.StopService()
	if c.connector == nil {
		return nil
	}
	if s, ok := c.factory.(stopTrying); ok {
		s.StopTrying()
	}
	c.connector.Disconnect()
	c.connector = nil
	return nil
}

// Connector returns the connector while the service runs, and nil otherwise.
func (c *ClientService) Connector() *internet.StreamConnector { return c.connector }

// logPrefix names v in the log as Twisted's does: by its LogPrefix method,
// or else by its type without package or pointer (a factory's class name).
// A factory that wraps another (a policy) is named by the one it wraps.
func logPrefix(v any) string {
	for {
		w, ok := v.(interface{ WrappedFactory() internet.Factory })
		if !ok {
			break
		}
		v = w.WrappedFactory()
	}
	if p, ok := v.(internet.LogPrefixer); ok {
		return p.LogPrefix()
	}
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Name() == "" {
		return fmt.Sprintf("%T", v)
	}
	return t.Name()
}

// portString is how Twisted's log shows a port: the TCP or UDP port number,
// or the socket path.
func portString(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return fmt.Sprint(a.Port)
	case *net.UDPAddr:
		return fmt.Sprint(a.Port)
	}
	return a.String()
}
