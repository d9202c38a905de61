package service

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
)

// selfSigned returns a self-signed certificate for 127.0.0.1 and a pool
// that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// greeter writes a line as soon as its connection is up.
type greeter struct{ internet.BaseProtocol }

func (g *greeter) ConnectionMade(t internet.Transport) {
	g.Transport = t
	_, _ = t.Write([]byte("hello over TLS\r\n"))
}

func TestTLSServerServesOverTLSWhileRunning(t *testing.T) {
	loop := runLoop(t)
	cert, pool := selfSigned(t)
	s := TLSServer(loop, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}},
		internet.FactoryFunc(func(net.Addr) internet.Protocol { return &greeter{} }))
	if err := onLoop(loop, s.StartService); err != nil {
		t.Fatal(err)
	}
	addr := onLoop(loop, s.Addr).String()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || line != "hello over TLS\r\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if st := c.ConnectionState(); st.Version != tls.VersionTLS13 {
		t.Errorf("version %x, want TLS 1.3", st.Version)
	}
	onLoop(loop, s.StopService)
	if onLoop(loop, s.Addr) != nil || s.Running() {
		t.Fatal("still listening after StopService")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("connected to a stopped TLSServer")
	}
}
