//go:build unix

package policies_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twistgo/twist/internal/testlog"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/policies"
)

// flood writes answer to each connection as it is made, all at once: more
// than the kernel's buffers take, so that most of it waits in the
// transport's queue for the peer to read.
type flood struct {
	internet.BaseProtocol
	answer []byte
	lost   chan<- error
}

func (f *flood) ConnectionMade(t internet.Transport) {
	f.Transport = t
	t.Write(f.answer)
}

func (f *flood) ConnectionLost(reason error) { f.lost <- reason }

// Over loopback, with an idle time-out far shorter than the time the
// answer takes to read: a slow reader and one that pauses for longer than
// the idle time-out (less than the write time-out) get every byte, then
// the idle close; one that stops reading is aborted by the write time-out,
// which is logged.
func TestLoopbackSlowAndStalledReaders(t *testing.T) {
	const idle, write = 100 * time.Millisecond, 2 * time.Second
	logs := testlog.CaptureDefault(t)
	answer := make([]byte, 4<<20)
	for i := range answer {
		answer[i] = byte(i * 7 / 5)
	}
	lost := make(chan error, 3)
	addr := serve(t, policies.Timeout(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &flood{answer: answer, lost: lost}
	}), policies.TimeoutConfig{Idle: idle, Write: write}))
	// The stalled reader's small receive buffer, set before connecting,
	// keeps the kernel from taking much of the answer.
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
	}}

	for _, tc := range []struct {
		name  string
		pause time.Duration // after the first read
	}{
		{"slow reader", 0},
		{"reader pausing past the idle time-out", 5 * idle},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		var got []byte
		buf := make([]byte, 64<<10)
		for first := true; ; first = false {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if err != io.EOF {
					t.Errorf("%s: after %d bytes: %v", tc.name, len(got), err)
				}
				break
			}
			if first {
				time.Sleep(tc.pause)
			}
			time.Sleep(10 * time.Millisecond) // 64 KiB every 10 ms at most: 0.64 s for all, at least
		}
		c.Close()
		if !bytes.Equal(got, answer) {
			t.Errorf("%s: read %d bytes, want the %d of the answer", tc.name, len(got), len(answer))
		}
		if reason := <-lost; !errors.Is(reason, internet.ErrConnectionDone) {
			t.Errorf("%s: the server's connection ended with %v, want a clean close", tc.name, reason)
		}
	}

	start := time.Now()
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reason error
	select {
	case reason = <-lost:
	case <-time.After(time.Minute):
		t.Fatal("a reader that stopped was not closed within a minute")
	}
	if took := time.Since(start); took < write || !errors.Is(reason, internet.ErrConnectionAborted) {
		t.Errorf("a reader that stopped: aborted after %v with %v; want %v at least, aborted", took, reason, write)
	}
	if !strings.Contains(logs.String(), "(write time-out)") {
		t.Errorf("no write time-out in the log:\n%s", logs.String())
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	if n, err := io.Copy(io.Discard, c); err == nil || n >= int64(len(answer)) {
		t.Errorf("the stalled reader then read %d bytes, %v; want part of the answer and a reset", n, err)
	}
}
