package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func TestNewVerifiesForItsHosts(t *testing.T) {
	c, pool := New("localhost", "127.0.0.1", "::1")
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("verified for a host it does not name")
	}
	certPEM, keyPEM := PEM(c)
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Error(err)
	}
}
