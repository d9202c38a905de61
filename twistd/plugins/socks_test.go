package plugins

import (
	"flag"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// Issue 11, finding 5: the SOCKS plugin was an open proxy. These are its
// regression tests at the plugin level; package socks tests the rest.

func TestSOCKSDefaultsAreSafe(t *testing.T) {
	fs := flag.NewFlagSet("socks", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	SOCKS.Flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"interface":         "127.0.0.1",
		"max-conns":         "1000",
		"handshake-timeout": "10s",
		"idle-timeout":      "5m0s",
	} {
		if got := fs.Lookup(name).Value.String(); got != want {
			t.Errorf("--%s defaults to %q, want %q", name, got, want)
		}
	}
	if err := fs.Parse([]string{"--password", "x"}); err == nil {
		t.Error("--password is accepted on the command line, where ps shows it")
	}
}

func TestSOCKSRefusesLoopbackByDefault(t *testing.T) {
	dest := echoServer(t, "tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(dest)
	proxy := startPlugin(t, "socks")
	for name, req := range map[string][]byte{
		"loopback address": addrReq(t, dest),
		"localhost":        domainReq("localhost", mustAtoi(port)),
		"the proxy itself": addrReq(t, proxy),
		"0.0.0.0":          addrReq(t, net.JoinHostPort("0.0.0.0", port)),
	} {
		t.Run(name, func(t *testing.T) {
			if code := socksConnect(t, dial(t, proxy), "", "", req); code != 2 {
				t.Fatalf("reply %d, want 2 (not allowed)", code)
			}
		})
	}
}

func TestSOCKSPasswordFromEnvironment(t *testing.T) {
	t.Setenv(SOCKSPasswordEnv, "from-env")
	dest := echoServer(t, "tcp", "127.0.0.1:0")
	proxy := startSOCKS(t, "--user", "bob")
	if code := socksConnect(t, dial(t, proxy), "bob", "from-env", addrReq(t, dest)); code != 0 {
		t.Fatalf("reply %d", code)
	}
}

func TestSOCKSUserNeedsPassword(t *testing.T) {
	t.Setenv(SOCKSPasswordEnv, "")
	fs := flag.NewFlagSet("socks", flag.ContinueOnError)
	mk := SOCKS.Flags(fs)
	fs.Parse([]string{"--user", "bob"})
	if _, err := mk(nil); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("--user without a password: %v", err)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
