//go:build linux

package bench

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLoopbackPingPong measures the kernel's floor under the TCP
// echo, TLS echo and RPC figures of this module: one goroutine passes a
// 64-byte message back and forth over a loopback TCP connection, each side
// a blocking write(2) and the other side's read(2), so there is no poller,
// no wake-up of another thread and no Go scheduler. A server that answers
// a message makes at least one read and one write per message, and on
// loopback its write also runs the receiving socket's side of TCP, as
// here; so half a round trip's system time (sys-ns/msg) is what no server
// code can go below on this kernel. user-ns/msg is the same share of the
// process's user time: the system-call stubs and this loop.
func BenchmarkLoopbackPingPong(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer dialed.Close()
	accepted, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer accepted.Close()
	w, r := blockingFD(b, dialed), blockingFD(b, accepted)
	msg, buf := make([]byte, 64), make([]byte, 4096)
	send := func(from, to int) {
		if n, err := syscall.Write(from, msg); n != len(msg) || err != nil {
			b.Fatalf("write: %d, %v", n, err)
		}
		for got := 0; got < len(msg); {
			n, err := syscall.Read(to, buf)
			if n <= 0 || err != nil {
				b.Fatalf("read: %d, %v", n, err)
			}
			got += n
		}
	}
	u0, s0 := rusage(b)
	for b.Loop() {
		send(w, r)
		send(r, w)
	}
	u1, s1 := rusage(b)
	// A message each way per round trip: a side's share is half.
	b.ReportMetric(float64(u1-u0)/float64(2*b.N), "user-ns/msg")
	b.ReportMetric(float64(s1-s0)/float64(2*b.N), "sys-ns/msg")
}

// blockingFD returns a blocking duplicate of c's descriptor, closed with
// the benchmark.
func blockingFD(b *testing.B, c net.Conn) int {
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, false); err != nil {
		b.Fatal(err)
	}
	return fd
}

// rusage returns the process's user and system CPU time so far.
func rusage(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
