//go:build unix

package internet

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/reactor"
)

// A peer that does not read leaves OutputProgress where it is; one that
// reads moves it by every byte that left the queue (a Unix socket: no
// acknowledgements to count).
func TestConnOutputProgress(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	c, peer := socketPair(t, loop, &echo{})
	if q, f := c.QueuedOutput(), c.OutputProgress(); q != 0 || f != 0 {
		t.Fatalf("a new connection: QueuedOutput %d, OutputProgress %d; want 0, 0", q, f)
	}
	const size = 4 << 20 // more than a socket pair's buffer holds
	if _, err := c.Write(pattern(size)); err != nil {
		t.Fatal(err)
	}
	queued := c.QueuedOutput()
	if queued == 0 || queued >= size || c.OutputProgress() != 0 {
		t.Fatalf("after a write of %d bytes: QueuedOutput %d, OutputProgress %d; want some queued, no progress", size, queued, c.OutputProgress())
	}
	c.DoWrite() // the peer has read nothing: the socket takes nothing
	if q, f := c.QueuedOutput(), c.OutputProgress(); q != queued || f != 0 {
		t.Errorf("the peer reading nothing: QueuedOutput %d, OutputProgress %d; want %d, 0", q, f, queued)
	}
	buf := make([]byte, 64<<10)
	for read := 0; read < size; {
		n, err := unix.Read(peer, buf)
		if err == unix.EAGAIN {
			c.DoWrite()
			if q, f := c.QueuedOutput(), c.OutputProgress(); q+int(f) != queued {
				t.Fatalf("QueuedOutput %d, OutputProgress %d; want them to add up to %d", q, f, queued)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	if q, f := c.QueuedOutput(), c.OutputProgress(); q != 0 || f != uint64(queued) {
		t.Errorf("all read: QueuedOutput %d, OutputProgress %d; want 0, %d", q, f, queued)
	}
}

// The TLS layer counts its lower transport's queue, and the plaintext it
// keeps until the handshake's end.
func TestTLSQueuedOutputCountsThePlaintextKept(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	c, _ := socketPair(t, loop, &echo{})
	if _, err := c.Write(pattern(4 << 20)); err != nil {
		t.Fatal(err)
	}
	l := &tlsLayer{lower: c, plainOut: make([]byte, 100)}
	if q, want := l.QueuedOutput(), c.QueuedOutput()+100; q != want {
		t.Errorf("QueuedOutput %d, want %d", q, want)
	}
}
