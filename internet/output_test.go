//go:build unix

package internet

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/reactor"
)

// A peer that does not read leaves OutputProgress where it is; one that
// reads moves it by every byte that left the queue (a Unix socket: no
// acknowledgements to count), and what it has yet to read is pending.
func TestConnOutputProgress(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	c, peer := socketPair(t, loop, &echo{})
	if p, f := c.OutputProgress(); c.QueuedOutput() != 0 || p != 0 || f != 0 {
		t.Fatalf("a new connection: QueuedOutput %d, OutputProgress %d, %d; want zeros", c.QueuedOutput(), p, f)
	}
	const size = 4 << 20 // more than a socket pair's buffer holds
	if _, err := c.Write(pattern(size)); err != nil {
		t.Fatal(err)
	}
	queued := c.QueuedOutput()
	pending, progress := c.OutputProgress()
	if queued == 0 || queued >= size || pending < queued || progress != 0 {
		t.Fatalf("after a write of %d bytes: QueuedOutput %d, OutputProgress %d, %d; want some queued, as much pending at least, no progress",
			size, queued, pending, progress)
	}
	c.DoWrite() // the peer has read nothing: the socket takes nothing
	if q, f := c.QueuedOutput(), progressOf(c); q != queued || f != 0 {
		t.Errorf("the peer reading nothing: QueuedOutput %d, progress %d; want %d, 0", q, f, queued)
	}
	buf := make([]byte, 64<<10)
	for read := 0; read < size; {
		n, err := unix.Read(peer, buf)
		if err == unix.EAGAIN {
			c.DoWrite()
			if q, f := c.QueuedOutput(), progressOf(c); q+int(f) != queued {
				t.Fatalf("QueuedOutput %d, progress %d; want them to add up to %d", q, f, queued)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	if p, f := c.OutputProgress(); c.QueuedOutput() != 0 || p != 0 || f != uint64(queued) {
		t.Errorf("all read: QueuedOutput %d, OutputProgress %d, %d; want 0, 0, %d", c.QueuedOutput(), p, f, queued)
	}
}

func progressOf(q OutputQueue) uint64 {
	_, progress := q.OutputProgress()
	return progress
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
	p, _ := l.OutputProgress()
	if want, _ := c.OutputProgress(); p != want+100 {
		t.Errorf("pending %d, want %d", p, want+100)
	}
}
