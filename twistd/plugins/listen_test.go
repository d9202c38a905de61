package plugins

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twistgo/twist/service"
)

func TestListenFlag(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "echo.sock")
	ms := runPlugin(t, "echo", "--listen", "tcp:0:interface=127.0.0.1", "--listen", "unix:"+sock).(*service.MultiService)
	n := 0
	for s := range ms.Services() {
		addr := s.(*service.StreamServer).Addr()
		c := dialNet(t, addr.Network(), addr.String())
		io.WriteString(c, "hi")
		got := make([]byte, 2)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "hi" {
			t.Fatalf("%v: %q, %v", addr, got, err)
		}
		n++
	}
	if n != 3 { // --port (given by runPlugin), and the two --listen
		t.Fatalf("%d servers, want 3", n)
	}
}

func TestListenAloneReplacesPort(t *testing.T) {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	sf := AddServerFlags(fs, 8007, "")
	fs.Parse([]string{"--listen", "tcp:0"})
	servers, err := sf.Servers(nil, nil)
	if err != nil || len(servers) != 1 {
		t.Fatalf("%d servers, %v; want the --listen one alone", len(servers), err)
	}
}

func TestListenBadDescription(t *testing.T) {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	mk := Echo.Flags(fs)
	fs.Parse([]string{"--listen", "carrier-pigeon:80"})
	if _, err := mk(nil); err == nil || !strings.Contains(err.Error(), "carrier-pigeon") {
		t.Fatalf("bad description: %v", err)
	}
}

// The connection cap binds all of a plugin's ports together.
func TestMaxConnsSharedByPorts(t *testing.T) {
	ms := runPlugin(t, "echo", "--listen", "tcp:0:interface=127.0.0.1", "--max-conns", "1").(*service.MultiService)
	var addrs []string
	for s := range ms.Services() {
		addrs = append(addrs, s.(*service.StreamServer).Addr().String())
	}
	first := dial(t, addrs[0])
	io.WriteString(first, "x")
	io.ReadFull(first, make([]byte, 1)) // the first connection is up
	second := dial(t, addrs[1])
	if n, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a second connection, on the other port, read %d bytes, %v; want EOF", n, err)
	}
}
