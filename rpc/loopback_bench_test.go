//go:build unix

package rpc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc/internal/looptest"
)

// The environment of the client process of BenchmarkLoopback.
const (
	envAddr     = "TWIST_RPC_BENCH_ADDR"
	envConns    = "TWIST_RPC_BENCH_CONNS"
	envInFlight = "TWIST_RPC_BENCH_INFLIGHT"
	envCalls    = "TWIST_RPC_BENCH_CALLS"
)

// BenchmarkLoopback serves add on one reactor loop over loopback TCP and
// calls it from a separate client process, so that the server's CPU time
// is the benchmark process's own: it reports calls/s, and the server's user
// and system CPU time per call (the Go runtime included).
//
//	go test -run XXX -bench Loopback -benchtime 200000x ./rpc/
func BenchmarkLoopback(b *testing.B) {
	for _, bc := range []struct {
		name            string
		conns, inFlight int
	}{
		{"conns=50", 50, 1},
		{"conns=1/inflight=64", 1, 64},
	} {
		b.Run(bc.name, func(b *testing.B) { benchLoopback(b, bc.conns, bc.inFlight) })
	}
}

func benchLoopback(b *testing.B, conns, inFlight int) {
	s := NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		b.Fatal(err)
	}
	loop, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	port, err := internet.ListenTCP(loop, "127.0.0.1:0", s.Factory())
	if err != nil {
		b.Fatal(err)
	}
	looptest.RunLoop(b, loop)

	calls := max(b.N, conns*inFlight)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoopbackClient$")
	cmd.Env = append(os.Environ(),
		envAddr+"="+port.Addr().String(),
		envConns+"="+strconv.Itoa(conns),
		envInFlight+"="+strconv.Itoa(inFlight),
		envCalls+"="+strconv.Itoa(calls))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// The client says how long its calls took, from the first to the last.
	var elapsed time.Duration
	var before, after looptest.Usage
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "connected":
			b.ResetTimer()
			before = looptest.ReadUsage(b)
		case len(line) > 8 && line[:8] == "elapsed ":
			after = looptest.ReadUsage(b)
			b.StopTimer()
			if elapsed, err = time.ParseDuration(line[8:]); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("client: %v", err)
	}
	if elapsed == 0 {
		b.Fatal("the client did not report its time")
	}
	looptest.ReportPerCall(b, "server", calls, elapsed, before, after)
}

// TestLoopbackClient is the client process of BenchmarkLoopback: it is
// skipped unless the benchmark started it. It opens its connections, says
// "connected", makes the calls, keeping inFlight in flight on each
// connection, checks every answer, and says how long the calls took.
func TestLoopbackClient(t *testing.T) {
	addr := os.Getenv(envAddr)
	if addr == "" {
		t.Skip("the client process of BenchmarkLoopback")
	}
	atoi := func(key string) int {
		n, err := strconv.Atoi(os.Getenv(key))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	conns, inFlight, calls := atoi(envConns), atoi(envInFlight), atoi(envCalls)
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	req := call(t, 1, "add", 1, 2)
	want := frame(t, bson.D{{Key: "reply", Value: int32(3)}, {Key: "id", Value: int32(1)}})
	fmt.Println("connected")
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range cs {
		n := calls / conns
		if i < calls%conns {
			n++
		}
		wg.Go(func() {
			if err := drive(c, req, want, n, inFlight); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	fmt.Println("elapsed", time.Since(start))
}

// drive makes n calls of req on c, inFlight at a time, and reads their
// answers, each of which must be want.
func drive(c net.Conn, req, want []byte, n, inFlight int) error {
	sent := make(chan struct{}, inFlight)
	errc := make(chan error, 1)
	go func() {
		for range n {
			sent <- struct{}{}
			if _, err := c.Write(req); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	r := bufio.NewReader(c)
	buf := make([]byte, len(want))
	for range n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if !bytes.Equal(buf, want) {
			return fmt.Errorf("answer %x, want %x", buf, want)
		}
		<-sent
	}
	return <-errc
}
