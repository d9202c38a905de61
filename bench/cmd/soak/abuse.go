package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"
)

// slowReader reads big answers slowly, 4 KiB every 10 ms (400 KB/s), so
// that the server's output queue fills and its flow control must hold the
// rest: by turns 16 echoes of 64 KiB over framed RPC, and the 1 MiB file
// over HTTP; every other time it stops reading after the first 64 KiB for
// pauseFor, longer than the idle time-out and shorter than the write
// time-out. Every byte is checked: a reader that reads, however slowly or
// with whatever pause under the write time-out, must lose nothing. If
// this goroutine itself ran so late that it read nothing for the write
// time-out, the server may abort the connection: that is counted as late,
// not as a failure.
func (s *soak) slowReader(r *rand.Rand, i int) {
	for n := i; !s.stopped(); n++ {
		c, err := s.slowOnce(r, n%2 == 0, n/2%2 == 1)
		if err != nil && c.maxGap >= s.cfg.WriteTimeout {
			s.n.late.Add(1)
			continue
		}
		if err == nil && c.paused {
			s.n.slowPauses.Add(1)
		}
		if err != nil {
			s.fail.add("slow reader: %v", err)
			if !s.sleep(time.Second) {
				return
			}
		}
	}
}

// slowConn reads at most 4 KiB a read, 10 ms apart, noting the longest
// time between two reads; with pause set, it stops for that long once
// after the first 64 KiB.
type slowConn struct {
	net.Conn
	last   time.Time
	maxGap time.Duration
	read   int
	pause  time.Duration
	paused bool
}

// pauseFor is how long a pausing slow reader stops: past the idle
// time-out, and as far short of the write time-out.
func (s *soak) pauseFor() time.Duration { return (s.cfg.IdleTimeout + s.cfg.WriteTimeout) / 2 }

func (c *slowConn) Read(b []byte) (int, error) {
	if c.pause > 0 && !c.paused && c.read >= 64<<10 {
		c.paused = true
		time.Sleep(c.pause)
	}
	time.Sleep(10 * time.Millisecond)
	if now := time.Now(); !c.last.IsZero() {
		c.maxGap = max(c.maxGap, now.Sub(c.last))
	}
	n, err := c.Conn.Read(b[:min(len(b), 4<<10)])
	c.last = time.Now()
	c.read += n
	return n, err
}

// slowOnce reads big answers slowly once, by calls or by HTTP, on a
// connection of its own, pausing past the idle time-out if pause is set.
func (s *soak) slowOnce(r *rand.Rand, calls, pause bool) (*slowConn, error) {
	addr := s.srv.http
	if calls {
		addr = s.srv.framed
	}
	c, ok := s.dial("slow reader", addr)
	if !ok {
		return &slowConn{}, nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * ioTimeout))
	sc := &slowConn{Conn: c}
	if pause {
		sc.pause = s.pauseFor()
	}
	if calls {
		return sc, s.slowCalls(r, sc)
	}
	return sc, s.slowGet(sc)
}

func (s *soak) slowCalls(r *rand.Rand, sc *slowConn) error {
	c := sc.Conn
	const calls = 16
	var buf []byte
	want := make([]call, calls)
	for id := range want {
		want[id] = call{fn: "echo", s: randomString(r, 64<<10)}
		buf = framed{}.append(buf, int32(id), want[id])
	}
	// Written while the answers are read, as a pipelining client must: the
	// server stops reading while its answers wait.
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(buf)
		wrote <- err
	}()
	br := bufio.NewReaderSize(sc, 4<<10)
	seen := make([]bool, calls)
	for range calls {
		id, reply, kind, err := framed{}.read(br)
		if err != nil {
			return fmt.Errorf("reading big answers: %v", err)
		}
		if id < 0 || id >= calls || seen[id] {
			return fmt.Errorf("an answer to id %d, twice or never asked", id)
		}
		seen[id] = true
		if err := want[id].check(reply, kind); err != nil {
			return err
		}
		s.n.slowCalls.Add(1)
		s.n.slowBytes.Add(64 << 10)
	}
	return <-wrote
}

func (s *soak) slowGet(sc *slowConn) error {
	io.WriteString(sc.Conn, "GET /big.bin HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
	got, err := io.ReadAll(bufio.NewReaderSize(sc, 4<<10))
	want := s.files["/big.bin"]
	if err != nil || !bytes.HasPrefix(got, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(got, want) {
		return fmt.Errorf("GET /big.bin: %d bytes, then %v; want the file, then the server's close", len(got), err)
	}
	s.n.slowCalls.Add(1)
	s.n.slowBytes.Add(int64(len(want)))
	return nil
}

// idler opens connections that the server must time out: by turns one
// that sends nothing (the idle time-out) and one that sends half a
// message (the read time-out), on each protocol. The server must close
// each, sending nothing (a 408 for HTTP), within its time-out and a few
// seconds.
func (s *soak) idler(r *rand.Rand, i int) {
	// Spread over a time-out, so that the closes come all the time.
	if !s.sleep(time.Duration(r.Int64N(int64(s.cfg.IdleTimeout)))) {
		return
	}
	for n := i; !s.stopped(); n++ {
		if err := s.idleOnce(n%6, r); err != nil {
			s.fail.add("time-out: %v", err)
			if !s.sleep(time.Second) {
				return
			}
		}
	}
}

// slack is how late a time-out may come on a busy, shared machine.
const slack = 5 * time.Second

func (s *soak) idleOnce(kind int, r *rand.Rand) error {
	names := []string{"framed", "wire", "HTTP"}
	addr := []string{s.srv.framed, s.srv.mongo, s.srv.http}[kind%3]
	// The server's time-out starts after this: took is never less than
	// the time the server waited, however late this goroutine runs.
	start := time.Now()
	c, ok := s.dial("time-out", addr)
	if !ok {
		return nil
	}
	defer c.Close()
	timeout, what := s.cfg.IdleTimeout, "an idle"
	if kind >= 3 {
		timeout, what = s.cfg.ReadTimeout, "a half-sent"
		var half []byte
		switch kind {
		case 3:
			half = framed{}.append(nil, 1, randomCall(r))
		case 4:
			half = wire{}.append(nil, 1, randomCall(r))
		case 5:
			half = []byte("GET /small.txt HTTP/1.1\r\nHost: soak\r\n\r\n")
		}
		if _, err := c.Write(half[:len(half)/2]); err != nil {
			return err
		}
	}
	c.SetDeadline(start.Add(timeout + slack))
	got, err := io.ReadAll(c)
	took := time.Since(start)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%s %s connection still open %v after it began, time-out %v", what, names[kind%3], took.Round(time.Millisecond), timeout)
	case err != nil:
		return fmt.Errorf("%s %s connection: %v, want the server's close", what, names[kind%3], err)
	case len(got) > 0 && !(kind%3 == 2 && strings.HasPrefix(string(got), "HTTP/1.1 408 ")):
		return fmt.Errorf("%s %s connection got %.40q", what, names[kind%3], got)
	case took < timeout*9/10:
		return fmt.Errorf("%s %s connection closed after %v, before its time-out %v", what, names[kind%3], took.Round(time.Millisecond), timeout)
	}
	if kind >= 3 {
		s.n.readClosed.Add(1)
	} else {
		s.n.idleClosed.Add(1)
	}
	return nil
}
