//go:build unix

package internet_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// tlsEcho writes back the plaintext it reads.
type tlsEcho struct{ internet.BaseProtocol }

func (e *tlsEcho) DataReceived(data []byte) { _, _ = e.Transport.Write(data) }

// tlsGreeter sends a greeting once the handshake is done, prints the echo
// and closes, sending close_notify.
type tlsGreeter struct {
	internet.BaseProtocol
	internet.BaseClientFactory
	loop *reactor.Reactor
}

func (g *tlsGreeter) BuildProtocol(net.Addr) internet.Protocol { return g }

func (g *tlsGreeter) ConnectionMade(t internet.Transport) {
	g.Transport = t
	_, _ = t.Write([]byte("hello, TLS"))
}

func (g *tlsGreeter) DataReceived(data []byte) {
	fmt.Printf("echoed: %s\n", data)
	g.Transport.LoseConnection()
}

func (g *tlsGreeter) ConnectionLost(reason error) {
	fmt.Println("closed cleanly:", reason == internet.ErrConnectionDone)
	_ = g.loop.Stop()
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// An echo server over TLS, and a client that verifies its certificate.
func ExampleListenTLS() {
	cert, pool := selfSigned()
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{cert}}
	port, err := internet.ListenTLS(loop, "127.0.0.1:0", server, internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &tlsEcho{}
	}))
	if err != nil {
		panic(err)
	}
	internet.ConnectTLS(loop, port.Addr().String(), &tls.Config{RootCAs: pool}, &tlsGreeter{loop: loop})
	if err := loop.Run(); err != nil {
		panic(err)
	}
	// Output:
	// echoed: hello, TLS
	// closed cleanly: true
}
