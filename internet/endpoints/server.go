package endpoints

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// Loops is where a server endpoint listens: one loop, or a group of loops
// over which the connections are spread as internet.ListenTCPGroup spreads
// them.
type Loops interface {
	*reactor.Reactor | *reactor.Group
}

// A ServerEndpoint listens for stream connections (Twisted's
// IStreamServerEndpoint).
type ServerEndpoint interface {
	// Listen starts listening and serves each connection with a protocol
	// from f. The Deferred fires with the Port, or fails with an *Error.
	Listen(f internet.Factory) *deferred.Deferred
}

// Port is what a ServerEndpoint's Listen gives: an *internet.Port on one
// loop, an *internet.GroupPort on a group (Twisted's IListeningPort).
type Port interface {
	// Addr returns the address listened on, with the port number the
	// system chose if it was 0.
	Addr() net.Addr
	// StopListening closes the port; see internet.Port.StopListening and
	// internet.GroupPort.StopListening for where it may be called.
	StopListening() *deferred.Deferred
}

// place is a loop or a group, from a Loops type parameter.
type place struct {
	loop  *reactor.Reactor
	group *reactor.Group
}

func placeOf[L Loops](on L) place {
	switch v := any(on).(type) {
	case *reactor.Reactor:
		return place{loop: v}
	case *reactor.Group:
		return place{group: v}
	}
	panic("unreachable")
}

// StreamServerEndpoint listens on a TCP port, over TLS if it has a TLS
// configuration, or on a Unix socket: ServerFromString makes one, and so do
// TCPServerEndpoint, TLSServerEndpoint and UnixServerEndpoint.
//
// On one loop, Listen must be called on the loop or before it runs, and its
// Deferred has fired when Listen returns, as with Twisted's endpoints. On a
// group, Listen may be called from any goroutine, as
// internet.ListenTCPGroup may.
type StreamServerEndpoint struct {
	on   place
	desc string
	// network is "tcp" or "unix"; addr is "host:port" or a path.
	network, addr string
	tls           *tls.Config
	mode          fs.FileMode // of a Unix socket's file; 0 leaves it alone
	opts          []internet.ListenOption
}

// TCPServerEndpoint returns an endpoint that listens on TCP port port of
// the interface iface (an IP address; "" is every IPv4 interface, "::"
// every interface): Twisted's TCP4ServerEndpoint and TCP6ServerEndpoint.
func TCPServerEndpoint[L Loops](on L, port int, iface string, opts ...internet.ListenOption) *StreamServerEndpoint {
	desc := "tcp:" + strconv.Itoa(port)
	if iface != "" {
		desc += ":interface=" + QuoteStringArgument(iface)
	}
	return &StreamServerEndpoint{on: placeOf(on), desc: desc, network: "tcp",
		addr: net.JoinHostPort(iface, strconv.Itoa(port)), opts: opts}
}

// TLSServerEndpoint returns an endpoint that listens on TCP as
// TCPServerEndpoint does and serves each connection over TLS with cfg,
// which must hold the server's certificate (Twisted's SSL4ServerEndpoint);
// see internet.ListenTLS.
func TLSServerEndpoint[L Loops](on L, port int, iface string, cfg *tls.Config, opts ...internet.ListenOption) *StreamServerEndpoint {
	e := TCPServerEndpoint(on, port, iface, opts...)
	e.desc = "ssl" + strings.TrimPrefix(e.desc, "tcp")
	e.tls = cfg
	return e
}

// UnixServerEndpoint returns an endpoint that listens on the Unix socket
// at path (Twisted's UNIXServerEndpoint); see internet.ListenUnix. A mode
// other than 0 is given to the socket's file once it exists.
func UnixServerEndpoint[L Loops](on L, path string, mode fs.FileMode, opts ...internet.ListenOption) *StreamServerEndpoint {
	desc := "unix:" + QuoteStringArgument(path)
	if mode != 0 {
		desc += fmt.Sprintf(":mode=%o", mode)
	}
	return &StreamServerEndpoint{on: placeOf(on), desc: desc, network: "unix", addr: path, mode: mode, opts: opts}
}

// String returns the endpoint's description.
func (e *StreamServerEndpoint) String() string { return e.desc }

// Listen starts listening; the Deferred fires with an *internet.Port on
// one loop, an *internet.GroupPort on a group, or fails with an *Error.
func (e *StreamServerEndpoint) Listen(f internet.Factory) *deferred.Deferred {
	p, err := e.listen(f)
	if err != nil {
		return deferred.Fail(&Error{Op: "listen", Desc: e.desc, Err: err})
	}
	return deferred.Succeed(p)
}

func (e *StreamServerEndpoint) listen(f internet.Factory) (Port, error) {
	if e.tls != nil {
		f = internet.TLSFactory(e.tls, f, false)
	}
	var (
		p   Port
		err error
	)
	switch {
	case e.network == "unix" && e.on.group != nil:
		p, err = port(internet.ListenUnixGroup(e.on.group, e.addr, f, e.opts...))
	case e.network == "unix":
		p, err = port(internet.ListenUnix(e.on.loop, e.addr, f, e.opts...))
	case e.on.group != nil:
		p, err = port(internet.ListenTCPGroup(e.on.group, e.addr, f, e.opts...))
	default:
		p, err = port(internet.ListenTCP(e.on.loop, e.addr, f, e.opts...))
	}
	if err != nil {
		return nil, err
	}
	if e.mode != 0 {
		// As Twisted does, after bind(2): until then the umask decides,
		// and no connection can be accepted before the loop next turns.
		if err := os.Chmod(e.addr, e.mode); err != nil {
			if e.on.group != nil {
				// GroupPort.StopListening belongs on the first loop.
				e.on.group.Loops()[0].CallFromThread(func() { p.StopListening() })
			} else {
				p.StopListening()
			}
			return nil, err
		}
	}
	return p, nil
}

// port keeps a nil port out of the Port interface.
func port[P Port](p P, err error) (Port, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ServerFromString parses a server description into an endpoint that
// listens on on (Twisted's serverFromString). The forms, with Twisted's
// defaults (see the package documentation for escaping):
//
//	tcp:PORT[:interface=IP][:backlog=N]
//	tcp6:PORT[:interface=IP][:backlog=N]        interface "::" by default
//	ssl:PORT[:privateKey=FILE][:certKey=FILE][:extraCertChain=FILE][:interface=IP][:backlog=N]
//	unix:PATH[:mode=OCTAL][:backlog=N][:lockfile=0|1]
//
// PORT may be given as port=PORT and PATH as address=PATH. For ssl,
// privateKey defaults to server.pem and certKey to privateKey: one PEM file
// may hold both; the files are read now, so a missing one is reported here.
// sslmethod is accepted and ignored: TLS 1.2 and 1.3 are always what is
// offered. The type is case-insensitive.
//
// Where Twist differs from Twisted: backlog defaults to
// internet.DefaultBacklog() (the system's maximum), not 50; a Unix socket's mode is left to the
// umask unless mode is given (Twisted sets 0666); and lockfile, accepted
// for compatibility, creates no lock file: internet.ListenUnix removes a
// stale socket file only when no server answers on it, which is what
// Twisted's lock file guards.
func ServerFromString[L Loops](on L, desc string) (ServerEndpoint, error) {
	e, err := parseServer(placeOf(on), desc)
	if err != nil {
		return nil, &Error{Op: "parse", Desc: desc, Err: err}
	}
	return e, nil
}

func parseServer(on place, desc string) (*StreamServerEndpoint, error) {
	a, err := parse(desc)
	if err != nil {
		return nil, err
	}
	e := &StreamServerEndpoint{on: on, desc: desc}
	if backlog, ok, err := a.take("backlog", -1); err != nil {
		return nil, err
	} else if ok {
		n, err := parsePositive("backlog", backlog)
		if err != nil {
			return nil, err
		}
		e.opts = append(e.opts, internet.WithBacklog(n))
	}
	switch kind := strings.ToLower(a.kind); kind {
	case "tcp", "tcp6", "ssl":
		e.network = "tcp"
		p, ok, err := a.take("port", 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New(kind + " endpoints need a port")
		}
		n, err := parsePort("port", p)
		if err != nil {
			return nil, err
		}
		iface, ok, err := a.take("interface", -1)
		if err != nil {
			return nil, err
		}
		if !ok && kind == "tcp6" {
			iface = "::"
		}
		if iface != "" && net.ParseIP(iface) == nil {
			return nil, fmt.Errorf("interface %s is not an IP address", quote(iface))
		}
		e.addr = net.JoinHostPort(iface, strconv.Itoa(n))
		if kind == "ssl" {
			if e.tls, err = serverTLS(a); err != nil {
				return nil, err
			}
		}
	case "unix":
		e.network = "unix"
		path, ok, err := a.take("address", 0)
		if err != nil {
			return nil, err
		}
		if !ok || path == "" {
			return nil, errors.New("unix endpoints need a path")
		}
		e.addr = path
		if mode, ok, err := a.take("mode", -1); err != nil {
			return nil, err
		} else if ok {
			m, err := strconv.ParseUint(mode, 8, 32)
			if err != nil || m > 0o777 {
				return nil, fmt.Errorf("mode %s is not an octal file mode such as 660", quote(mode))
			}
			e.mode = fs.FileMode(m)
		}
		if lock, ok, err := a.take("lockfile", -1); err != nil {
			return nil, err
		} else if ok {
			if _, err := parseBool("lockfile", lock); err != nil {
				return nil, err
			}
		}
	case "":
		return nil, errors.New("it has no endpoint type (tcp, tcp6, ssl or unix)")
	default:
		return nil, fmt.Errorf("unknown endpoint type %s (known: tcp, tcp6, ssl, unix)", quote(a.kind))
	}
	if err := a.finish(1); err != nil {
		return nil, err
	}
	return e, nil
}

// serverTLS builds the TLS configuration of an ssl: description.
func serverTLS(a *args) (*tls.Config, error) {
	key, ok, err := a.take("privateKey", -1)
	if err != nil {
		return nil, err
	}
	if !ok {
		key = "server.pem"
	}
	cert, ok, err := a.take("certKey", -1)
	if err != nil {
		return nil, err
	}
	if !ok {
		cert = key
	}
	if _, _, err := a.take("sslmethod", -1); err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("cannot load the certificate %s with the key %s: %w", quote(cert), quote(key), err)
	}
	chain, ok, err := a.take("extraCertChain", -1)
	if err != nil {
		return nil, err
	}
	if ok {
		certs, err := readCerts(chain)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			pair.Certificate = append(pair.Certificate, c.Raw)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, nil
}

// readCerts reads the certificates of a PEM file, at least one.
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", quote(path), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", quote(path))
	}
	return certs, nil
}
