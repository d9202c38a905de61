//go:build unix

package internet_test

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// starttlsServer answers "STARTTLS" in the clear, then echoes over TLS.
type starttlsServer struct {
	internet.BaseProtocol
	cfg    *tls.Config
	secure bool
}

func (s *starttlsServer) DataReceived(data []byte) {
	if s.secure {
		_, _ = s.Transport.Write(data)
		return
	}
	if string(data) == "STARTTLS\r\n" {
		// Sent in the clear: it was written before StartTLS.
		_, _ = s.Transport.Write([]byte("GO AHEAD\r\n"))
		s.secure = s.Transport.(internet.TLSStarter).StartTLS(s.cfg, false) == nil
	}
}

// starttlsClient asks for TLS, starts it on the answer, and sends a secret.
type starttlsClient struct {
	internet.BaseProtocol
	cfg    *tls.Config
	loop   *reactor.Reactor
	secure bool
}

func (c *starttlsClient) ConnectionMade(t internet.Transport) {
	c.Transport = t
	_, _ = t.Write([]byte("STARTTLS\r\n"))
}

func (c *starttlsClient) DataReceived(data []byte) {
	if !c.secure {
		fmt.Printf("in the clear: %q\n", data)
		if err := c.Transport.(internet.TLSStarter).StartTLS(c.cfg, true); err != nil {
			panic(err)
		}
		c.secure = true
		// Encrypted, and sent once the handshake is done.
		_, _ = c.Transport.Write([]byte("secret"))
		return
	}
	st := c.Transport.(internet.TLSTransport).ConnectionState()
	fmt.Printf("echoed over TLS 1.3 (%v): %s\n", st.Version == tls.VersionTLS13, data)
	c.Transport.LoseConnection()
}

func (c *starttlsClient) ConnectionLost(reason error) {
	fmt.Println("closed cleanly:", reason == internet.ErrConnectionDone)
	_ = c.loop.Stop()
}

// A line protocol that switches to TLS on an open connection, as SMTP's,
// IMAP's and XMPP's STARTTLS do.
func ExampleConn_StartTLS() {
	cert, pool := selfSigned()
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{cert}}
	port, err := internet.ListenTCP(loop, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &starttlsServer{cfg: server}
	}))
	if err != nil {
		panic(err)
	}
	client := &starttlsClient{cfg: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, loop: loop}
	internet.ConnectProtocol(loop, port.Addr().String(), client)
	if err := loop.Run(); err != nil {
		panic(err)
	}
	// Output:
	// in the clear: "GO AHEAD\r\n"
	// echoed over TLS 1.3 (true): secret
	// closed cleanly: true
}
