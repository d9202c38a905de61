package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/twistgo/twist/bench"
)

// idleMemory prints, for each server, the growth of its resident memory
// (VmRSS) per keep-alive connection left idle after one request, with n
// connections, as the median of rounds rounds; as JSON if jsonOut.
func idleMemory(self string, filter *regexp.Regexp, n, rounds int, jsonOut bool) error {
	perConn := map[string][]float64{}
	for round := range rounds {
		for _, name := range servers {
			if !filter.MatchString(name) {
				continue
			}
			b, err := idleRound(self, name, n)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-9s %7.0f bytes per idle connection\n", round+1, name, b)
			perConn[name] = append(perConn[name], b)
		}
	}
	if jsonOut {
		var out []bench.HTTPResult
		for _, name := range servers {
			if v, ok := perConn[name]; ok {
				out = append(out, bench.HTTPResult{Server: name, IdleConns: n, RSSPerConn: idleMedian(v)})
			}
		}
		return bench.WriteJSON(os.Stdout, out, nil)
	}
	fmt.Printf("httpbench %s: resident memory per idle keep-alive connection, %d connections, server on CPU 0; median of %d rounds\n",
		time.Now().UTC().Format(time.DateTime), n, rounds)
	tw := idleMedian(perConn["twist"])
	for _, name := range servers {
		if v, ok := perConn[name]; ok {
			m, ratio := idleMedian(v), "-"
			if name != "twist" && m > 0 {
				ratio = fmt.Sprintf("%.2fx", tw/m)
			}
			fmt.Printf("%-9s %8.0f B/conn  twist/peer %s\n", name, m, ratio)
		}
	}
	return nil
}

func idleMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// idleRound starts the server, opens n connections that each make one
// request and stay open, and returns the resident memory they added per
// connection.
func idleRound(self, name string, n int) (float64, error) {
	cmd, addr, err := startServer(self, name)
	if err != nil {
		return 0, err
	}
	defer stopServer(cmd)
	warm, err := idleConn(addr)
	if err != nil {
		return 0, err
	}
	warm.Close()
	time.Sleep(500 * time.Millisecond) // let the server settle
	before, err := bench.VmRSS(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := idleConn(addr)
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	after, err := bench.VmRSS(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}

// idleConn connects, makes one request and reads its whole answer.
func idleConn(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")); err != nil {
		c.Close()
		return nil, err
	}
	var got []byte
	buf := make([]byte, 1024)
	for !bytes.Contains(got, body) {
		k, err := c.Read(buf)
		if err != nil {
			c.Close()
			return nil, err
		}
		got = append(got, buf[:k]...)
	}
	return c, nil
}
