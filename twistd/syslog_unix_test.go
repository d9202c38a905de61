//go:build unix

package twistd

import (
	"io"
	"net"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestSyslog checks what --syslog sends: lines in Twisted's format without
// the time (syslog stamps them), from the daemon facility at the info level
// (priority 30), tagged with --prefix. The syslog daemon is a socket of the
// test's own.
func TestSyslog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	syslogNetwork, syslogAddr = "unixgram", path
	defer func() { syslogNetwork, syslogAddr = "", "" }()

	var o options
	if err := o.flagSet(io.Discard).Parse([]string{"-n", "--syslog", "--prefix", "poetryd"}); err != nil {
		t.Fatal(err)
	}
	logger, out, err := o.openLog(false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("Log opened.")
	logger.Info("sending 658 bytes of poetry to 127.0.0.1:52144", System("PoetryFactory"))
	if err := out.Reopen(); err != nil {
		t.Errorf("Reopen of syslog: %v", err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`[-] Log opened.`,
		`[PoetryFactory] sending 658 bytes of poetry to 127.0.0.1:52144`,
	} {
		// A bound on a wait that should be immediate, not a timing check.
		sock.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^<30>.+ poetryd\[\d+\]: ` + regexp.QuoteMeta(want) + "\n$")
		if got := string(buf[:n]); !re.MatchString(got) {
			t.Errorf("got %q, want %s", got, re)
		}
	}
}
