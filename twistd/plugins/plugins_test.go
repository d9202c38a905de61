package plugins

import (
	"bytes"
	"encoding/binary"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

// runPlugin makes the named plugin's service with args on a loop that runs
// for the test, listening on 127.0.0.1 with a port the system chooses, and
// starts it.
func runPlugin(t *testing.T, name string, args ...string) service.Service {
	t.Helper()
	var sm twistd.ServiceMaker
	for _, p := range All {
		if p.Name == name {
			sm = p
		}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	mk := sm.Flags(fs)
	if err := fs.Parse(append([]string{"--port", "0", "--iface", "127.0.0.1"}, args...)); err != nil {
		t.Fatal(err)
	}
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := mk(loop)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	t.Cleanup(func() {
		loop.CallFromThread(func() { svc.StopService(); loop.Stop() })
		<-done
	})
	started := make(chan error, 1)
	loop.CallFromThread(func() { started <- svc.StartService() })
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	return svc
}

// startPlugin runs a plugin whose service is one server, and returns the
// address it listens on.
func startPlugin(t *testing.T, name string, args ...string) string {
	t.Helper()
	return runPlugin(t, name, args...).(*service.StreamServer).Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	return dialNet(t, "tcp", addr)
}

func dialNet(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEchoPlugin(t *testing.T) {
	c := dial(t, startPlugin(t, "echo"))
	io.WriteString(c, "hello, echo")
	got := make([]byte, len("hello, echo"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello, echo" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDiscardPlugin(t *testing.T) {
	c := dial(t, startPlugin(t, "discard"))
	io.WriteString(c, "into the void")
	c.(*net.TCPConn).CloseWrite()
	// The server sends nothing and closes when we do.
	if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDaytimePlugin(t *testing.T) {
	got, err := io.ReadAll(dial(t, startPlugin(t, "daytime")))
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("no CRLF: %q", s)
	}
	if _, err := time.Parse(time.ANSIC, strings.TrimSuffix(s, "\r\n")); err != nil {
		t.Fatalf("not a date: %q: %v", s, err)
	}
}

func TestFastPoetryPlugin(t *testing.T) {
	got, err := io.ReadAll(dial(t, startPlugin(t, "fastpoetry")))
	if err != nil || !bytes.Equal(got, poetry.Sonnet18) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestSlowPoetryPlugin(t *testing.T) {
	got, err := io.ReadAll(dial(t, startPlugin(t, "slowpoetry", "--num-bytes", "100", "--delay", "0")))
	if err != nil || !bytes.Equal(got, poetry.Sonnet18) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestSlowPoetryRejectsBadFlags(t *testing.T) {
	for _, sm := range All {
		if sm.Name != "slowpoetry" {
			continue
		}
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		mk := sm.Flags(fs)
		fs.Parse([]string{"--num-bytes", "0"})
		if _, err := mk(nil); err == nil {
			t.Fatal("--num-bytes 0 accepted")
		}
	}
}

// echoServer is a plain Go echo server, the destination of forwarded and
// proxied connections.
func echoServer(t *testing.T, network, addr string) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skip("cannot listen:", err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// roundTripBig sends n bytes through c and checks they all come back: with
// n well past the transports' buffers, it exercises flow control.
func roundTripBig(t *testing.T, c net.Conn, n int) {
	t.Helper()
	data := bytes.Repeat([]byte("0123456789abcdef"), n/16)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		errc <- err
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data corrupted in transit")
	}
}

func TestPortForwardPlugin(t *testing.T) {
	dest := echoServer(t, "tcp", "127.0.0.1:0")
	c := dial(t, startPlugin(t, "portforward", "--dest", dest))
	roundTripBig(t, c, 4<<20)
}

func TestPortForwardClosesWhenDestinationRefuses(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dest := l.Addr().String()
	l.Close()
	got, err := io.ReadAll(dial(t, startPlugin(t, "portforward", "--dest", dest)))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestPortForwardNeedsDest(t *testing.T) {
	for _, sm := range All {
		if sm.Name == "portforward" {
			mk := sm.Flags(flag.NewFlagSet("", flag.ContinueOnError))
			if _, err := mk(nil); err == nil {
				t.Fatal("no --dest accepted")
			}
		}
	}
}

// startSOCKS runs the socks plugin with loopback allowed as a destination,
// where the tests' servers are.
func startSOCKS(t *testing.T, args ...string) string {
	t.Helper()
	return startPlugin(t, "socks", append([]string{"--allow", "127.0.0.0/8", "--allow", "::1"}, args...)...)
}

// socksConnect performs a SOCKS5 handshake on c (with user/password if
// user is not empty) and a CONNECT to the address in req (ATYP onwards);
// it returns the reply code.
func socksConnect(t *testing.T, c net.Conn, user, password string, req []byte) byte {
	t.Helper()
	method := byte(0)
	if user != "" {
		method = 2
	}
	c.Write([]byte{5, 1, method})
	var resp [2]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		t.Fatal(err)
	}
	if resp != [2]byte{5, method} {
		t.Fatalf("method reply %v", resp)
	}
	if user != "" {
		msg := append([]byte{1, byte(len(user))}, user...)
		msg = append(append(msg, byte(len(password))), password...)
		c.Write(msg)
		if _, err := io.ReadFull(c, resp[:]); err != nil {
			t.Fatal(err)
		}
		if resp[1] != 0 {
			return 0xff
		}
	}
	c.Write(append([]byte{5, 1, 0}, req...))
	var head [4]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		t.Fatal(err)
	}
	n := 4 + 2
	if head[3] == 4 {
		n = 16 + 2
	}
	io.ReadFull(c, make([]byte, n))
	return head[1]
}

func addrReq(t *testing.T, hostport string) []byte {
	t.Helper()
	ap, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	var req []byte
	if ip4 := ap.IP.To4(); ip4 != nil {
		req = append([]byte{1}, ip4...)
	} else {
		req = append([]byte{4}, ap.IP.To16()...)
	}
	return binary.BigEndian.AppendUint16(req, uint16(ap.Port))
}

func domainReq(host string, port int) []byte {
	req := append([]byte{3, byte(len(host))}, host...)
	return binary.BigEndian.AppendUint16(req, uint16(port))
}

func TestSOCKSConnect(t *testing.T) {
	dest := echoServer(t, "tcp", "127.0.0.1:0")
	_, portStr, _ := net.SplitHostPort(dest)
	port, _ := strconv.Atoi(portStr)
	proxy := startSOCKS(t)
	tests := []struct {
		name string
		req  []byte
	}{
		{"IPv4", addrReq(t, dest)},
		{"domain", domainReq("localhost", port)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, proxy)
			if code := socksConnect(t, c, "", "", tt.req); code != 0 {
				t.Fatalf("reply %d", code)
			}
			roundTripBig(t, c, 1<<20)
		})
	}
}

func TestSOCKSConnectIPv6(t *testing.T) {
	dest := echoServer(t, "tcp6", "[::1]:0")
	c := dial(t, startSOCKS(t))
	if code := socksConnect(t, c, "", "", addrReq(t, dest)); code != 0 {
		t.Fatalf("reply %d", code)
	}
	roundTripBig(t, c, 64<<10)
}

func TestSOCKSDataPipelinedWithRequest(t *testing.T) {
	dest := echoServer(t, "tcp", "127.0.0.1:0")
	c := dial(t, startSOCKS(t))
	// Everything at once: greeting, request and the first data.
	msg := append([]byte{5, 1, 0, 5, 1, 0}, addrReq(t, dest)...)
	c.Write(append(msg, "early"...))
	reply := make([]byte, 2+10)
	if _, err := io.ReadFull(c, reply); err != nil || reply[3] != 0 {
		t.Fatalf("reply %v, %v", reply, err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "early" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestSOCKSAuth(t *testing.T) {
	dest := echoServer(t, "tcp", "127.0.0.1:0")
	pw := filepath.Join(t.TempDir(), "password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	proxy := startSOCKS(t, "--user", "alice", "--password-file", pw)
	c := dial(t, proxy)
	if code := socksConnect(t, c, "alice", "s3cret", addrReq(t, dest)); code != 0 {
		t.Fatalf("reply %d", code)
	}
	roundTripBig(t, c, 64<<10)

	c = dial(t, proxy)
	if code := socksConnect(t, c, "alice", "wrong", addrReq(t, dest)); code != 0xff {
		t.Fatalf("wrong password accepted: reply %d", code)
	}
	// Without offering username/password, no acceptable method.
	c = dial(t, proxy)
	c.Write([]byte{5, 1, 0})
	resp, _ := io.ReadAll(c)
	if !bytes.Equal(resp, []byte{5, 0xff}) {
		t.Fatalf("method reply %v", resp)
	}
}

func TestSOCKSReplies(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	proxy := startSOCKS(t)
	tests := []struct {
		name string
		cmd  byte
		req  []byte
		want byte
	}{
		{"connection refused", 1, addrReq(t, closed), 5},
		{"BIND not supported", 2, addrReq(t, closed), 7},
		{"address type not supported", 1, []byte{9, 0, 0}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, proxy)
			c.Write([]byte{5, 1, 0})
			io.ReadFull(c, make([]byte, 2))
			c.Write(append([]byte{5, tt.cmd, 0}, tt.req...))
			resp, _ := io.ReadAll(c)
			if len(resp) < 2 || resp[0] != 5 || resp[1] != tt.want {
				t.Fatalf("reply %v, want code %d", resp, tt.want)
			}
		})
	}
}
