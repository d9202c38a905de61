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
