package internet

import (
	"io"
	"net"
	"testing"
	"time"
)

// On Linux TCP the progress counts what the peer acknowledged: output the
// kernel took whole moves it as the peer reads, and leaves nothing
// pending.
func TestSysOutputCountsWhatThePeerTook(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	f, err := server.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if unsent, acked := sysOutput(fd); unsent != 0 || acked != 0 {
		t.Fatalf("before any was sent: %d bytes unsent, %d acknowledged", unsent, acked)
	}
	const size = 100_000
	if _, err := server.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.ReadFull(client, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	// The last acknowledgement may be delayed (40 ms on Linux).
	for deadline := time.Now().Add(10 * time.Second); progressOfFd(fd) < size && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if unsent, acked := sysOutput(fd); unsent != 0 || acked != size {
		t.Errorf("after the peer read %d bytes: %d unsent, %d acknowledged", size, unsent, acked)
	}
}

func progressOfFd(fd int) uint64 {
	_, acked := sysOutput(fd)
	return acked
}
