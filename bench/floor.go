package bench

import (
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"
)

// Floor is the CPU time per message of a 64-byte ping-pong over loopback
// TCP in one goroutine (MeasureFloor), in nanoseconds.
type Floor struct {
	User, Sys float64
}

// MeasureFloor measures the kernel's floor under the TCP echo, TLS echo
// and RPC figures of this module: one goroutine passes a 64-byte message
// back and forth msgs times over a loopback TCP connection, each way a
// blocking write(2) and the other end's read(2), so there is no poller, no
// wake-up of another thread and no Go scheduler. A server that answers a
// message makes at least a read and a write per message, and on loopback
// its write also runs the receiving socket's side of TCP, as here; so the
// system time per message is what no server code can go below on this
// kernel. User is the process's user time per message over the same span:
// the system-call stubs and this loop. It counts the whole process's CPU
// time, so nothing else in it should be busy meanwhile.
func MeasureFloor(msgs int) (Floor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Floor{}, err
	}
	defer ln.Close()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return Floor{}, err
	}
	defer dialed.Close()
	accepted, err := ln.Accept()
	if err != nil {
		return Floor{}, err
	}
	defer accepted.Close()
	var fds [2]int
	for i, c := range []net.Conn{dialed, accepted} {
		// A duplicate in blocking mode, out of the runtime's poller.
		f, err := c.(*net.TCPConn).File()
		if err != nil {
			return Floor{}, err
		}
		defer f.Close()
		fds[i] = int(f.Fd())
		if err := syscall.SetNonblock(fds[i], false); err != nil {
			return Floor{}, err
		}
	}
	msg, buf := make([]byte, EchoSize), make([]byte, 4096)
	send := func(from, to int) error {
		if n, err := syscall.Write(from, msg); n != len(msg) || err != nil {
			return fmt.Errorf("floor: write: %d bytes, %v", n, err)
		}
		for got := 0; got < len(msg); {
			n, err := syscall.Read(to, buf)
			if n <= 0 || err != nil {
				return fmt.Errorf("floor: read: %d bytes, %v", n, err)
			}
			got += n
		}
		return nil
	}
	u0, s0 := selfTimes()
	for i := 0; i < msgs; i += 2 {
		if err := send(fds[0], fds[1]); err != nil {
			return Floor{}, err
		}
		if err := send(fds[1], fds[0]); err != nil {
			return Floor{}, err
		}
	}
	u1, s1 := selfTimes()
	n := float64(msgs + msgs%2)
	return Floor{User: float64(u1-u0) / n, Sys: float64(s1-s0) / n}, nil
}

// FloorMessages is how many messages the commands' floor line is measured
// with: about a second here.
const FloorMessages = 100000

// writeFloor writes the floor line that both harnesses print.
func writeFloor(w io.Writer, f Floor) {
	fmt.Fprintf(w, "kernel floor (64-byte loopback ping-pong in one goroutine, no poller, this run): %.0f sys ns per message\n", f.Sys)
}

// WriteFloor writes f and what it bounds in results: the calls/s that a
// server on one CPU could answer if it cost only the floor, over net/rpc's
// with Conns connections. It returns w's first error.
func WriteFloor(w io.Writer, f Floor, results []Result) error {
	ew := &errWriter{w: w}
	writeFloor(ew, f)
	i := slices.IndexFunc(results, func(r Result) bool { return r.System == SystemNetRPC && r.Shape == shapeConns })
	if i >= 0 && f.Sys > 0 && results[i].CallsPerSecond() > 0 {
		most := 1e9 / f.Sys
		fmt.Fprintf(ew, "at that floor a server on one CPU answers at most %.0f calls/s: %.2fx net/rpc's %s\n",
			most, most/results[i].CallsPerSecond(), shapeConns)
	}
	return ew.err
}

// WriteTLSFloor writes f and how the TLS goal compares with it: 0.8 times
// the crypto/tls server's CPU per message, as a multiple of the floor. It
// returns w's first error.
func WriteTLSFloor(w io.Writer, f Floor, results []TLSResult) error {
	ew := &errWriter{w: w}
	writeFloor(ew, f)
	i := slices.IndexFunc(results, func(r TLSResult) bool { return r.Server == ServerTLSNet })
	if i >= 0 && f.Sys > 0 {
		goal := 0.8 * (results[i].UserPerMessage + results[i].SysPerMessage)
		fmt.Fprintf(ew, "0.8x the crypto/tls server's CPU per message is %.0f ns: %.2fx that floor\n", goal, goal/f.Sys)
	}
	return ew.err
}
