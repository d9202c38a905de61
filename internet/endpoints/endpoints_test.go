//go:build unix

package endpoints

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internal/testcert"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// writeCert writes a self-signed certificate for localhost, 127.0.0.1 and
// ::1 and its key into dir, as cert.pem and key.pem, and both into
// both.pem.
func writeCert(t *testing.T, dir string) (cert, key, both string) {
	t.Helper()
	certPEM, keyPEM := testcert.PEM(first(testcert.New("localhost", "127.0.0.1", "::1")))
	cert, key, both = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "both.pem")
	for name, data := range map[string][]byte{cert: certPEM, key: keyPEM, both: append(keyPEM, certPEM...)} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cert, key, both
}

func first[T, U any](t T, _ U) T { return t }

// echo sends back what it receives, and fires lost when its connection
// is gone.
type echo struct {
	internet.BaseProtocol
	lost *deferred.Deferred
}

func (e *echo) DataReceived(b []byte) { _, _ = e.Transport.Write(b) }

func (e *echo) ConnectionLost(error) { e.lost.Callback(nil) }

// echoServer is a factory of echo protocols that remembers them.
type echoServer struct{ built []*echo }

func (s *echoServer) BuildProtocol(net.Addr) internet.Protocol {
	e := &echo{lost: deferred.New()}
	s.built = append(s.built, e)
	return e
}

// closed returns a Deferred that fires when every connection the server
// accepted is gone: what a test waits for before its loop stops.
func (s *echoServer) closed() *deferred.Deferred {
	ds := make([]*deferred.Deferred, len(s.built))
	for i, e := range s.built {
		ds[i] = e.lost
	}
	return deferred.Gather(ds)
}

// greeter sends "hello", closes once five bytes came back, and fires done
// with them when the connection is gone.
type greeter struct {
	internet.BaseProtocol
	got  []byte
	done *deferred.Deferred
}

func newGreeter() *greeter { return &greeter{done: deferred.New()} }

func (g *greeter) ConnectionMade(t internet.Transport) {
	g.BaseProtocol.ConnectionMade(t)
	_, _ = t.Write([]byte("hello"))
}

func (g *greeter) DataReceived(b []byte) {
	g.got = append(g.got, b...)
	if len(g.got) >= 5 {
		g.Transport.LoseConnection()
	}
}

func (g *greeter) ConnectionLost(error) { g.done.Callback(string(g.got)) }

// oneProtocol is a factory of one protocol, for Connect.
func oneProtocol(p internet.Protocol) internet.Factory {
	return internet.FactoryFunc(func(net.Addr) internet.Protocol { return p })
}

// portNumber returns the TCP port of p, or 0 for a Unix socket.
func portNumber(p Port) int {
	if a, ok := p.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// echoThrough listens with the server description, connects with the
// client description (with %d for the port the server got), sends hello and
// returns what came back.
func echoThrough(t *testing.T, server, client string) string {
	t.Helper()
	v := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		se, err := ServerFromString(r, server)
		if err != nil {
			return deferred.Fail(err)
		}
		srv := &echoServer{}
		return se.Listen(srv).AddCallback(func(v any) (any, error) {
			port := v.(Port)
			desc := client
			if strings.Contains(desc, "%d") {
				desc = fmt.Sprintf(client, portNumber(port))
			}
			ce, err := ClientFromString(r, desc)
			if err != nil {
				port.StopListening()
				return nil, err
			}
			g := newGreeter()
			return ce.Connect(oneProtocol(g)).AddCallback(func(p any) (any, error) {
				if p != g {
					return nil, fmt.Errorf("Connect gave %v, not the protocol built", p)
				}
				return g.done, nil
			}).AddBoth(func(v any) (any, error) {
				port.StopListening()
				if f, ok := v.(*deferred.Failure); ok {
					return nil, f
				}
				return srv.closed().AddCallback(func(any) (any, error) { return v, nil }), nil
			}), nil
		})
	})
	s, _ := v.(string)
	return s
}

func TestEchoThroughDescriptions(t *testing.T) {
	dir := t.TempDir()
	cert, key, both := writeCert(t, dir)
	sock := QuoteStringArgument(filepath.Join(dir, "echo.sock"))
	for _, tc := range []struct{ name, server, client string }{
		{"tcp", "tcp:0:interface=127.0.0.1", "tcp:host=127.0.0.1:port=%d"},
		{"tcp-keywords-backlog", "tcp:port=0:interface=127.0.0.1:backlog=5", "tcp:127.0.0.1:%d"},
		{"tcp6", `tcp6:0:interface=\:\:1`, `tcp:host=\:\:1:%d`},
		{"tcp-localhost", "tcp:0:interface=127.0.0.1", "tcp:localhost:port=%d:timeout=5"},
		{"unix", "unix:" + sock + ":mode=600", "unix:path=" + sock},
		{"unix-positional", "unix:address=" + sock + ":lockfile=1", "unix:" + sock + ":lockfile=0:timeout=2"},
		{"ssl-tls", "ssl:0:interface=127.0.0.1:privateKey=" + QuoteStringArgument(key) + ":certKey=" + QuoteStringArgument(cert),
			"tls:host=localhost:port=%d:trustRoots=" + QuoteStringArgument(cert)},
		{"ssl-one-file-tls-dir", "ssl:port=0:interface=127.0.0.1:privateKey=" + QuoteStringArgument(both),
			"tls:127.0.0.1:%d:trustRoots=" + QuoteStringArgument(dir)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := echoThrough(t, tc.server, tc.client); got != "hello" {
				t.Errorf("echo = %q", got)
			}
		})
	}
}

func TestUnixModeIsSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.sock")
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		se, err := ServerFromString(r, "unix:"+QuoteStringArgument(path)+":mode=640")
		if err != nil {
			return deferred.Fail(err)
		}
		return se.Listen(&echoServer{}).AddCallback(func(v any) (any, error) {
			defer v.(Port).StopListening()
			st, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			if st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", st.Mode().Perm())
			}
			return nil, nil
		})
	})
}

func TestListenOnAGroup(t *testing.T) {
	g, err := reactor.NewGroup(2)
	if err != nil {
		t.Fatal(err)
	}
	se, err := ServerFromString(g, "tcp:0:interface=127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	port := twisttest.SuccessResultOf(t, se.Listen(&echoServer{})).(*internet.GroupPort)
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		g := newGreeter()
		return TCPClientEndpoint(r, port.Addr().String()).Connect(oneProtocol(g)).AddCallback(func(any) (any, error) { return g.done, nil })
	})
	stopped := make(chan struct{})
	g.Loops()[0].CallFromThread(func() {
		port.StopListening().AddCallback(func(any) (any, error) { close(stopped); return nil, nil })
	})
	<-stopped
	g.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got != "hello" {
		t.Errorf("echo = %q", got)
	}
}

func TestListenErrorNamesTheDescriptionAndTheCause(t *testing.T) {
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		first, _ := ServerFromString(r, "tcp:0:interface=127.0.0.1")
		port := twisttest.SuccessResultOf(t, first.Listen(&echoServer{})).(Port)
		defer port.StopListening()
		desc := fmt.Sprintf("tcp:%d:interface=127.0.0.1", portNumber(port))
		second, _ := ServerFromString(r, desc)
		f := twisttest.FailureResultOf(t, second.Listen(&echoServer{}))
		var e *Error
		if !errors.As(f.Value(), &e) || e.Op != "listen" || e.Desc != desc {
			t.Fatalf("error %#v", f.Value())
		}
		msg := f.Value().Error()
		if want := `endpoints: cannot listen on "` + desc + `": `; !strings.HasPrefix(msg, want) || !strings.Contains(msg, "address already in use") {
			t.Errorf("message %q", msg)
		}
		return nil
	})
}

func TestServerFromStringErrors(t *testing.T) {
	dir := t.TempDir()
	cert, _, _ := writeCert(t, dir)
	for _, tc := range []struct{ desc, want string }{
		{"", "no endpoint type"},
		{"http:80", `unknown endpoint type "http"`},
		{"tcp", "need a port"},
		{"tcp:eighty", `port "eighty" is not a number from 0 to 65535`},
		{"tcp:65536", "not a number from 0 to 65535"},
		{"tcp:80:port=81", "both by position and as port="},
		{"tcp:80:backlog=0", "backlog \"0\" is not a whole number above zero"},
		{"tcp:80:interface=example.com", "not an IP address"},
		{"tcp:80:iface=127.0.0.1", `tcp endpoints have no parameter "iface"`},
		{"tcp:80:81", "at most 1 positional"},
		{"unix", "need a path"},
		{"unix:/x:mode=999", "not an octal file mode"},
		{"unix:/x:lockfile=yes", "neither 0 nor 1"},
		{"ssl:443:privateKey=" + QuoteStringArgument(filepath.Join(dir, "none.pem")), "cannot load the certificate"},
		{"ssl:443:privateKey=" + QuoteStringArgument(cert), "cannot load the certificate"},
		{"ssl:443:privateKey=" + QuoteStringArgument(cert) + ":extraCertChain=" + QuoteStringArgument(cert), "cannot load"},
		{"tcp:" + strings.Repeat("9", 500), "..."},
	} {
		_, err := ServerFromString((*reactor.Reactor)(nil), tc.desc)
		var e *Error
		if !errors.As(err, &e) || e.Op != "parse" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ServerFromString(%q) = %v, want %q", tc.desc, err, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "endpoints: bad description ") || len(err.Error()) > 400 {
			t.Errorf("message %q", err)
		}
	}
}

func TestClientFromStringErrors(t *testing.T) {
	for _, tc := range []struct{ desc, want string }{
		{"ssl:example.com:443", `unknown endpoint type "ssl"`},
		{"tcp:example.com", "need a port"},
		{"tcp:port=80", "need a host"},
		{"tcp:example.com:80:1", "at most 2 positional"},
		{"tcp:example.com:80:timeout=-1", "not a number of seconds above zero"},
		{"tcp:example.com:80:bindAddress=here", "bindAddress \"here\" is not an IP address"},
		{"tls:example.com:443:privateKey=k.pem", "privateKey is given without a certificate"},
		{"tls:example.com:443:trustRoots=/nonexistent/dir", "no such file"},
		{"tls:example.com:443:endpoint=tcp\\:x\\:1", `no parameter "endpoint"`},
		{"unix:timeout=3", "need a path"},
	} {
		_, err := ClientFromString(nil, tc.desc)
		var e *Error
		if !errors.As(err, &e) || e.Op != "parse" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ClientFromString(%q) = %v, want %q", tc.desc, err, tc.want)
		}
	}
}

func TestClientFromStringForms(t *testing.T) {
	// Twisted's _parseClientTCP: host and port by position or keyword,
	// and one positional argument beside host= is the port.
	for _, desc := range []string{
		"tcp:example.com:80", "tcp:host=example.com:port=80", "tcp:host=example.com:80",
		"tcp:example.com:port=80", "TCP:example.com:80:timeout=1.5:bindAddress=127.0.0.1",
	} {
		e, err := ClientFromString(nil, desc)
		if err != nil {
			t.Errorf("%q: %v", desc, err)
			continue
		}
		if c, ok := e.(*ConnectorEndpoint); !ok || c.host != "example.com" || c.String() != desc {
			t.Errorf("%q: %#v", desc, e)
		}
	}
}

func TestConnectFailureNamesTheDescription(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody.sock")
	desc := "unix:" + QuoteStringArgument(path)
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		e, err := ClientFromString(r, desc)
		if err != nil {
			return deferred.Fail(err)
		}
		return e.Connect(oneProtocol(newGreeter())).AddCallbacks(func(any) (any, error) {
			return nil, errors.New("connected to nobody")
		}, func(f *deferred.Failure) (any, error) {
			var ee *Error
			if !errors.As(f.Value(), &ee) || ee.Op != "connect" || !errors.Is(f.Value(), internet.ErrConnectFailed) {
				t.Errorf("error %v", f.Value())
			}
			if !strings.HasPrefix(f.Value().Error(), `endpoints: cannot connect to "`+desc+`": `) {
				t.Errorf("message %q", f.Value())
			}
			return nil, nil
		})
	})
}

func TestConnectWithAFactoryThatBuildsNothing(t *testing.T) {
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		srv := &echoServer{}
		port, err := internet.ListenTCP(r, "127.0.0.1:0", srv)
		if err != nil {
			return deferred.Fail(err)
		}
		d := TCPClientEndpoint(r, port.Addr().String()).Connect(internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil }))
		return d.AddCallbacks(func(any) (any, error) { return nil, errors.New("succeeded") },
			func(f *deferred.Failure) (any, error) {
				if !errors.Is(f, ErrNoProtocol) {
					t.Errorf("error %v", f.Value())
				}
				port.StopListening()
				return srv.closed(), nil
			})
	})
}

// halfCloser records that its peer closed its side.
type halfCloser struct {
	internet.BaseProtocol
	readLost, lost *deferred.Deferred
}

func (h *halfCloser) ReadConnectionLost()  { h.readLost.Callback(nil) }
func (h *halfCloser) WriteConnectionLost() {}
func (h *halfCloser) ConnectionLost(error) { h.lost.Callback(nil) }

func TestHalfCloseableProtocolStaysHalfCloseable(t *testing.T) {
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		// The server closes its side for writing at once.
		srv := &echoServer{}
		port, err := internet.ListenTCP(r, "127.0.0.1:0", internet.FactoryFunc(func(a net.Addr) internet.Protocol {
			return &halfCloseServer{srv.BuildProtocol(a).(*echo)}
		}))
		if err != nil {
			return deferred.Fail(err)
		}
		h := &halfCloser{readLost: deferred.New(), lost: deferred.New()}
		return TCPClientEndpoint(r, port.Addr().String()).Connect(oneProtocol(h)).AddCallback(func(p any) (any, error) {
			if _, ok := h.Transport.(*internet.Conn).Protocol().(internet.HalfCloseableProtocol); !ok {
				t.Error("the wrapper hides HalfCloseableProtocol")
			}
			return h.readLost, nil
		}).AddCallback(func(any) (any, error) {
			h.Transport.LoseConnection()
			port.StopListening()
			return deferred.Gather([]*deferred.Deferred{h.lost, srv.closed()}), nil
		})
	})
}

type halfCloseServer struct{ *echo }

func (s *halfCloseServer) ConnectionMade(t internet.Transport) {
	s.echo.ConnectionMade(t)
	t.(*internet.Conn).LoseWriteConnection()
}

func TestTLSHandshakeFailureFailsConnect(t *testing.T) {
	_, _, both := writeCert(t, t.TempDir())
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		srv := &echoServer{}
		se, err := ServerFromString(r, "ssl:0:interface=127.0.0.1:privateKey="+QuoteStringArgument(both))
		if err != nil {
			return deferred.Fail(err)
		}
		port := twisttest.SuccessResultOf(t, se.Listen(srv)).(Port)
		// Without trustRoots the system's roots do not know our
		// self-signed certificate.
		ce, err := ClientFromString(r, fmt.Sprintf("tls:localhost:%d", portNumber(port)))
		if err != nil {
			return deferred.Fail(err)
		}
		g := newGreeter()
		return ce.Connect(oneProtocol(g)).AddCallbacks(func(any) (any, error) {
			return nil, errors.New("connected over TLS to an unknown authority")
		}, func(f *deferred.Failure) (any, error) {
			var ue x509.UnknownAuthorityError
			if !errors.As(f, &ue) {
				t.Errorf("failure %v", f.Value())
			}
			port.StopListening()
			return srv.closed(), nil
		})
	})
}
