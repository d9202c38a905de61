package socks

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/twistgo/twist/twisttest"
)

func start(f *Factory) (*server, *twisttest.StringTransportWithDisconnection) {
	p := f.BuildProtocol(nil).(*server)
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	p.ConnectionMade(tr)
	return p, tr
}

// Issue 11, finding 5: a client that never finishes its handshake was held
// forever.
func TestHandshakeTimeout(t *testing.T) {
	clk := twisttest.NewClock()
	p, tr := start(&Factory{Clock: clk, Destinations: Destinations{Own: []netip.Addr{}}})
	p.DataReceived([]byte{5, 1})
	clk.Advance(DefaultHandshakeTimeout - time.Millisecond)
	if tr.Disconnecting() {
		t.Fatal("closed before the handshake time-out")
	}
	clk.Advance(time.Millisecond)
	if !tr.Aborted() {
		t.Fatal("not closed after the handshake time-out")
	}
}

func TestCredentialsMatch(t *testing.T) {
	f := &Factory{User: "alice", Password: "s3cret"}
	for _, tc := range []struct {
		user, password string
		want           bool
	}{
		{"alice", "s3cret", true},
		{"alice", "s3cre", false},
		{"alice", "s3cret!", false},
		{"alic", "s3cret", false},
		{"", "", false},
	} {
		if got := f.credentialsMatch([]byte(tc.user), []byte(tc.password)); got != tc.want {
			t.Errorf("%q/%q: %v, want %v", tc.user, tc.password, got, tc.want)
		}
	}
}

func TestWrongPasswordCloses(t *testing.T) {
	p, tr := start(&Factory{User: "alice", Password: "s3cret", Clock: twisttest.NewClock(), Destinations: Destinations{Own: []netip.Addr{}}})
	p.DataReceived([]byte{5, 1, 2})
	p.DataReceived(append(append([]byte{1, 5}, "alice"...), append([]byte{5}, "wrong"...)...))
	if !bytes.Equal(tr.Value(), []byte{5, 2, 1, 1}) || !tr.Disconnecting() {
		t.Fatalf("wrote %v, disconnecting %v", tr.Value(), tr.Disconnecting())
	}
}

func TestPermitted(t *testing.T) {
	d := &Destinations{
		Own:   []netip.Addr{netip.MustParseAddr("203.0.113.9")},
		Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
	}
	for addr, want := range map[string]bool{
		"93.184.215.14":    true,
		"2606:4700::1111":  true,
		"127.0.0.1":        false,
		"127.1.2.3":        false,
		"::1":              false,
		"::ffff:127.0.0.1": false,
		"0.0.0.0":          false,
		"::":               false,
		"10.0.0.1":         false,
		"10.1.2.3":         true, // allowed
		"172.16.5.4":       false,
		"192.168.1.1":      false,
		"169.254.169.254":  false, // cloud metadata
		"fe80::1":          false,
		"fd00::1":          false,
		"224.0.0.1":        false,
		"203.0.113.9":      false, // the host's own
	} {
		if got := d.Permitted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Permitted(%s) = %v, want %v", addr, got, want)
		}
	}
}

// A request for a blocked address is refused with reply 2 before any
// connection is attempted (Loop is nil: an attempt would panic).
func TestRequestForBlockedAddressRefused(t *testing.T) {
	p, tr := start(&Factory{Clock: twisttest.NewClock(), Destinations: Destinations{Own: []netip.Addr{}}})
	p.DataReceived([]byte{5, 1, 0})
	p.DataReceived([]byte{5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	want := []byte{5, 0, 5, RepNotAllowed, 0, 1, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(tr.Value(), want) || !tr.Disconnecting() {
		t.Fatalf("wrote %v, want %v; disconnecting %v", tr.Value(), want, tr.Disconnecting())
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
		n    int
		err  error
	}{
		{"IPv4", []byte{5, 1, 0, 1, 1, 2, 3, 4, 0, 80}, "1.2.3.4:80", 10, nil},
		{"IPv6", append(append([]byte{5, 1, 0, 4}, net.ParseIP("2001:db8::1")...), 1, 187), "[2001:db8::1]:443", 22, nil},
		{"domain", append(append([]byte{5, 1, 0, 3, 11}, "example.com"...), 0, 80), "example.com:80", 18, nil},
		{"domain that is an address", append(append([]byte{5, 1, 0, 3, 9}, "127.0.0.1"...), 0, 80), "127.0.0.1:80", 16, nil},
		{"incomplete", []byte{5, 1, 0, 1, 1, 2}, "", 0, nil},
		{"empty domain", []byte{5, 1, 0, 3, 0, 0, 80}, "", 0, ErrDomain},
		{"bad type", []byte{5, 1, 0, 9, 0}, "", 0, ErrAddressType},
		{"bad version", []byte{4, 1}, "", 0, ErrVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, n, err := ParseRequest(tc.in)
			if err != tc.err || n != tc.n || (n > 0 && r.Host() != tc.want) {
				t.Fatalf("%v, %d, %v; want %s, %d, %v", r.Host(), n, err, tc.want, tc.n, tc.err)
			}
			if r.Domain == "127.0.0.1" {
				t.Fatal("an address literal given as a domain escaped the address checks")
			}
		})
	}
}
