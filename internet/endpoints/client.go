package endpoints

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

var (
	// ErrNoProtocol is the reason a Connect fails when the factory built
	// no protocol for the connection (Twisted's NoProtocol).
	ErrNoProtocol = errors.New("the factory built no protocol for the connection")
	// ErrConnectingCancelled is the reason a Connect fails when its
	// Deferred is cancelled (Twisted's ConnectingCancelledError).
	ErrConnectingCancelled = errors.New("connecting was cancelled")
)

// A ClientEndpoint makes stream connections (Twisted's
// IStreamClientEndpoint).
type ClientEndpoint interface {
	// Connect makes a connection and gives it a protocol from f. The
	// Deferred fires with that protocol once its ConnectionMade has run,
	// or fails with an *Error; cancelling it stops the attempt. It must be
	// called on the endpoint's loop, and the Deferred fires there.
	Connect(f internet.Factory) *deferred.Deferred
}

// connectVia is what the client endpoints of this package share, so that
// WrapClientTLS can put TLS between the connection and the protocol: the
// connectors are handed wrap(cf) where cf is the factory that fires the
// Deferred.
type connectVia interface {
	connect(f internet.Factory, wrap func(internet.ClientFactory) internet.ClientFactory) *deferred.Deferred
	describe() string
	serverName() string
}

// ConnectorEndpoint connects with one connector, to a TCP address or a Unix
// socket: Twisted's TCP4ClientEndpoint and UNIXClientEndpoint. Make one
// with TCPClientEndpoint or UnixClientEndpoint.
type ConnectorEndpoint struct {
	desc string
	host string // for TLS's server name
	dial func(f internet.ClientFactory) internet.Connector
}

// TCPClientEndpoint returns an endpoint that connects to addr ("host:port")
// as internet.ConnectTCP does: a host name is resolved once per connection,
// to one address (for every address in turn, see HostnameEndpoint).
func TCPClientEndpoint(loop *reactor.Reactor, addr string, opts ...internet.ConnectOption) *ConnectorEndpoint {
	host, port, _ := net.SplitHostPort(addr)
	return &ConnectorEndpoint{desc: "tcp:host=" + QuoteStringArgument(host) + ":port=" + QuoteStringArgument(port), host: host,
		dial: func(f internet.ClientFactory) internet.Connector { return internet.ConnectTCP(loop, addr, f, opts...) }}
}

// UnixClientEndpoint returns an endpoint that connects to the Unix socket
// at path as internet.ConnectUnix does.
func UnixClientEndpoint(loop *reactor.Reactor, path string, opts ...internet.ConnectOption) *ConnectorEndpoint {
	return &ConnectorEndpoint{desc: "unix:path=" + QuoteStringArgument(path),
		dial: func(f internet.ClientFactory) internet.Connector { return internet.ConnectUnix(loop, path, f, opts...) }}
}

// String returns the endpoint's description.
func (e *ConnectorEndpoint) String() string { return e.desc }

// Connect connects; see ClientEndpoint.
func (e *ConnectorEndpoint) Connect(f internet.Factory) *deferred.Deferred { return e.connect(f, nil) }

func (e *ConnectorEndpoint) describe() string   { return e.desc }
func (e *ConnectorEndpoint) serverName() string { return e.host }

func (e *ConnectorEndpoint) connect(f internet.Factory, wrap func(internet.ClientFactory) internet.ClientFactory) *deferred.Deferred {
	var c internet.Connector
	cf := newConnectFactory(f, e.desc, func() {
		if c != nil {
			c.Disconnect()
		}
	})
	c = e.dial(wrapWith(wrap, cf))
	return cf.d
}

func wrapWith(wrap func(internet.ClientFactory) internet.ClientFactory, cf internet.ClientFactory) internet.ClientFactory {
	if wrap == nil {
		return cf
	}
	return wrap(cf)
}

// connectFactory is the client factory behind a Connect: it builds the
// user's protocol inside a notifyingProtocol and fires d when that
// protocol's ConnectionMade has run, or fails d with the reason the
// connection was not made (Twisted's _WrappingFactory).
type connectFactory struct {
	f    internet.Factory
	d    *deferred.Deferred
	desc string
}

// newConnectFactory returns the factory of one Connect; stop ends the
// attempt when the Deferred is cancelled.
func newConnectFactory(f internet.Factory, desc string, stop func()) *connectFactory {
	cf := &connectFactory{f: f, desc: desc}
	cf.d = deferred.NewWithCanceller(func(*deferred.Deferred) {
		cf.fail(ErrConnectingCancelled)
		stop()
	})
	return cf
}

func (cf *connectFactory) fail(reason error) {
	if !cf.d.Called() {
		cf.d.Errback(&Error{Op: "connect", Desc: cf.desc, Err: reason})
	}
}

// BuildProtocol builds the user's protocol, wrapped.
func (cf *connectFactory) BuildProtocol(addr net.Addr) internet.Protocol {
	if cf.d.Called() { // cancelled
		return nil
	}
	p := cf.f.BuildProtocol(addr)
	if p == nil {
		cf.fail(ErrNoProtocol)
		return nil
	}
	n := notifyingProtocol{Protocol: p, cf: cf}
	if h, ok := p.(internet.HalfCloseableProtocol); ok {
		return &notifyingHalfCloseable{n, h}
	}
	return &n
}

// ClientConnectionFailed fails the Deferred.
func (cf *connectFactory) ClientConnectionFailed(_ internet.Connector, reason error) { cf.fail(reason) }

// ClientConnectionLost does nothing: a connection that ends before its
// protocol's ConnectionMade, as when a TLS handshake fails, fails the
// Deferred through the protocol's ConnectionLost, with the reason the TLS
// layer gives. The connector reports the TCP connection's reason, and may
// report it first: TLS waits for its handshake's goroutine to say why.
func (cf *connectFactory) ClientConnectionLost(internet.Connector, error) {}

// StartFactory starts the user's factory if it is a Starter.
func (cf *connectFactory) StartFactory() {
	if s, ok := cf.f.(internet.Starter); ok {
		s.StartFactory()
	}
}

// StopFactory stops the user's factory if it is a Starter.
func (cf *connectFactory) StopFactory() {
	if s, ok := cf.f.(internet.Starter); ok {
		s.StopFactory()
	}
}

// notifyingProtocol passes everything to the user's protocol and fires the
// Connect's Deferred after its ConnectionMade (Twisted's
// _WrappingProtocol). The connection's Protocol() is this wrapper, as in
// Twisted; the Deferred gives the user's protocol.
type notifyingProtocol struct {
	internet.Protocol
	cf *connectFactory
}

// ConnectionMade starts the user's protocol and fires the Deferred.
func (n *notifyingProtocol) ConnectionMade(t internet.Transport) {
	n.Protocol.ConnectionMade(t)
	if !n.cf.d.Called() {
		n.cf.d.Callback(n.Protocol)
	}
}

// ConnectionLost passes the loss on; a connection lost before its
// ConnectionMade, as when a TLS handshake fails, fails the Deferred with
// the reason.
func (n *notifyingProtocol) ConnectionLost(reason error) {
	n.cf.fail(reason)
	n.Protocol.ConnectionLost(reason)
}

// notifyingHalfCloseable is a notifyingProtocol for a protocol that is an
// internet.HalfCloseableProtocol, which it stays through the wrapper.
type notifyingHalfCloseable struct {
	notifyingProtocol
	h internet.HalfCloseableProtocol
}

// ReadConnectionLost passes the half-close on.
func (n *notifyingHalfCloseable) ReadConnectionLost() { n.h.ReadConnectionLost() }

// WriteConnectionLost passes the half-close on.
func (n *notifyingHalfCloseable) WriteConnectionLost() { n.h.WriteConnectionLost() }

// tlsEndpoint is a client endpoint of this package with TLS over its
// connections.
type tlsEndpoint struct {
	inner connectVia
	cfg   *tls.Config
}

// WrapClientTLS returns an endpoint that connects with e and speaks TLS as
// a client over the connection with cfg (Twisted's wrapClientTLS); the
// Deferred of Connect fires once the handshake has succeeded and the
// protocol's ConnectionMade has run. If cfg has no ServerName, the host e
// connects to is verified. e must be an endpoint of this package: a
// ConnectorEndpoint, a HostnameEndpoint or one WrapClientTLS returned.
func WrapClientTLS(cfg *tls.Config, e ClientEndpoint) ClientEndpoint {
	inner, ok := e.(connectVia)
	if !ok {
		panic(fmt.Sprintf("endpoints: WrapClientTLS: %T is not an endpoint of this package", e))
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = inner.serverName()
	}
	return &tlsEndpoint{inner: inner, cfg: cfg}
}

// Connect connects; see ClientEndpoint and WrapClientTLS.
func (e *tlsEndpoint) Connect(f internet.Factory) *deferred.Deferred { return e.connect(f, nil) }

func (e *tlsEndpoint) describe() string   { return e.inner.describe() }
func (e *tlsEndpoint) serverName() string { return e.cfg.ServerName }

func (e *tlsEndpoint) connect(f internet.Factory, wrap func(internet.ClientFactory) internet.ClientFactory) *deferred.Deferred {
	return e.inner.connect(f, func(cf internet.ClientFactory) internet.ClientFactory {
		return internet.TLSClientFactory(e.cfg, wrapWith(wrap, cf))
	})
}

// ClientFromString parses a client description into an endpoint that
// connects from loop (Twisted's clientFromString). The forms, with
// Twisted's defaults (see the package documentation for escaping):
//
//	tcp:HOST:PORT[:timeout=SECONDS][:bindAddress=IP]
//	tls:HOST:PORT[:timeout=SECONDS][:bindAddress=IP][:trustRoots=PATH][:certificate=FILE][:privateKey=FILE]
//	unix:PATH[:timeout=SECONDS][:lockfile=0|1]
//
// HOST and PORT may be given as host= and port=, PATH as path=, and one
// positional argument with the other as a keyword, as in Twisted. tcp
// resolves a host name to one address (internet.ConnectTCP); tls connects
// with a HostnameEndpoint (every address, happy eyeballs) and verifies the
// server's certificate for HOST against the system's roots, or against the
// PEM certificates in trustRoots (a file, or a directory of *.pem files).
// certificate and privateKey are a client certificate (privateKey defaults
// to the certificate's file). timeout is per attempt, 30 s by default.
// lockfile is accepted and ignored, as on the server side. The type is
// case-insensitive; Twisted's ssl: client form and tls:'s endpoint= are
// not supported.
func ClientFromString(loop *reactor.Reactor, desc string) (ClientEndpoint, error) {
	e, err := parseClient(loop, desc)
	if err != nil {
		return nil, &Error{Op: "parse", Desc: desc, Err: err}
	}
	return e, nil
}

func parseClient(loop *reactor.Reactor, desc string) (ClientEndpoint, error) {
	a, err := parse(desc)
	if err != nil {
		return nil, err
	}
	var opts []internet.ConnectOption
	if t, ok, err := a.take("timeout", -1); err != nil {
		return nil, err
	} else if ok {
		d, err := parseSeconds("timeout", t)
		if err != nil {
			return nil, err
		}
		opts = append(opts, internet.WithTimeout(d))
	}
	var e ClientEndpoint
	switch kind := strings.ToLower(a.kind); kind {
	case "tcp", "tls":
		host, port, err := hostPort(a)
		if err != nil {
			return nil, err
		}
		if bind, ok, err := a.take("bindAddress", -1); err != nil {
			return nil, err
		} else if ok {
			if net.ParseIP(bind) == nil {
				return nil, fmt.Errorf("bindAddress %s is not an IP address", quote(bind))
			}
			opts = append(opts, internet.WithBindAddr(net.JoinHostPort(bind, "0")))
		}
		if kind == "tcp" {
			c := TCPClientEndpoint(loop, net.JoinHostPort(host, strconv.Itoa(port)), opts...)
			c.desc = desc
			e = c
			break
		}
		cfg, err := clientTLS(a, host)
		if err != nil {
			return nil, err
		}
		h := NewHostnameEndpoint(loop, host, port, opts...)
		h.desc = desc
		e = WrapClientTLS(cfg, h)
	case "unix":
		path, ok, err := a.take("path", 0)
		if err != nil {
			return nil, err
		}
		if !ok || path == "" {
			return nil, errors.New("unix endpoints need a path")
		}
		if lock, ok, err := a.take("lockfile", -1); err != nil {
			return nil, err
		} else if ok {
			if _, err := parseBool("lockfile", lock); err != nil {
				return nil, err
			}
		}
		c := UnixClientEndpoint(loop, path, opts...)
		c.desc = desc
		e = c
	case "":
		return nil, errors.New("it has no endpoint type (tcp, tls or unix)")
	default:
		return nil, fmt.Errorf("unknown endpoint type %s (known: tcp, tls, unix)", quote(a.kind))
	}
	if err := a.finish(2); err != nil {
		return nil, err
	}
	return e, nil
}

// hostPort takes the host and port of a client description, by position or
// by keyword, as Twisted's _parseClientTCP does: one positional argument is
// the host unless host= is given, in which case it is the port.
func hostPort(a *args) (string, int, error) {
	var (
		host, port     string
		hostOK, portOK bool
		err1, err2     error
	)
	if h, ok := a.kw["host"]; ok && len(a.pos) == 1 {
		a.used["host"] = true
		host, hostOK = h, true
		port, portOK, err2 = a.take("port", 0)
	} else {
		host, hostOK, err1 = a.take("host", 0)
		port, portOK, err2 = a.take("port", 1)
	}
	switch {
	case err1 != nil || err2 != nil:
		return "", 0, errors.Join(err1, err2)
	case !hostOK || host == "":
		return "", 0, fmt.Errorf("%s endpoints need a host", a.kind)
	case !portOK:
		return "", 0, fmt.Errorf("%s endpoints need a port", a.kind)
	}
	n, err := parsePort("port", port)
	return host, n, err
}

// clientTLS builds the TLS configuration of a tls: description.
func clientTLS(a *args, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host}
	roots, ok, err := a.take("trustRoots", -1)
	if err != nil {
		return nil, err
	}
	if ok {
		if cfg.RootCAs, err = readPool(roots); err != nil {
			return nil, err
		}
	}
	cert, certOK, err := a.take("certificate", -1)
	if err != nil {
		return nil, err
	}
	key, keyOK, err := a.take("privateKey", -1)
	if err != nil {
		return nil, err
	}
	switch {
	case certOK:
		if !keyOK {
			key = cert
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cannot load the certificate %s with the key %s: %w", quote(cert), quote(key), err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case keyOK:
		return nil, errors.New("privateKey is given without a certificate")
	}
	return cfg, nil
}

// readPool reads the certificates of a PEM file, or of the *.pem files of a
// directory, into a pool.
func readPool(path string) (*x509.CertPool, error) {
	files := []string{path}
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.pem")); err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("trustRoots %s holds no *.pem file", quote(path))
		}
	}
	pool := x509.NewCertPool()
	var errs []error
	for _, f := range files {
		certs, err := readCerts(f)
		if err != nil {
			// In a directory, a file that is no certificate, such as a
			// key, is skipped, as Twisted's caCertsDir does.
			errs = append(errs, err)
			continue
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	if len(errs) == len(files) {
		return nil, errs[0]
	}
	return pool, nil
}
