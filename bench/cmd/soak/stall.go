package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// stalledReader asks for big answers, by turns 16 echoes of 64 KiB over
// framed RPC and the 1 MiB file over HTTP, and never reads them: the
// server must abort the connection with its write time-out, and log it.
// Only then does it read what had reached it, checking every answer.
//
// What "acknowledged" means here: a stalled reader's calls are answered
// into a queue the peer does not drain, and the write time-out drops that
// queue on purpose. So a call on such a connection counts as acknowledged
// once its answer is read, checked like any other; a call whose answer
// never comes is counted as dropped, and is a failure unless twistd logged
// the write time-out for that very connection (matched by its address),
// no sooner than the time-out after the reader stopped and no later than
// the idle time-out, 1¼ of the write time-out and the slack (the watch
// starts at the idle time-out's expiry when the answers wait in the
// kernel's buffer). An answer is never lost silently: it is read,
// or its connection's abort is in the log.
func (s *soak) stalledReader(r *rand.Rand, i int) {
	// Spread over a time-out, so that the aborts come all the time.
	if !s.sleep(time.Duration(r.Int64N(int64(s.cfg.WriteTimeout)))) {
		return
	}
	for n := i; !s.stopped(); n++ {
		if err := s.stallOnce(r, n%2 == 0); err != nil {
			s.fail.add("stalled reader: %v", err)
			if !s.sleep(time.Second) {
				return
			}
		}
	}
}

// stallDialer gives a stalled reader a small receive buffer, set before
// connecting so that the window it offers stays small: most of the
// answers then wait in the server's queue, not in the kernels' buffers.
var stallDialer = net.Dialer{Timeout: ioTimeout, Control: func(_, _ string, c syscall.RawConn) error {
	var err error
	c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
	return err
}}

func (s *soak) stallOnce(r *rand.Rand, calls bool) error {
	addr, what := s.srv.http, "HTTP"
	if calls {
		addr, what = s.srv.framed, "framed"
	}
	start := time.Now() // the reader stops reading at once
	conn, err := stallDialer.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("dial: %v", err)
	}
	c := conn.(*net.TCPConn)
	defer c.Close()
	const n = 16
	asked := 1 // the response
	var want []call
	var req []byte
	if calls {
		asked = n
		want = make([]call, n)
		for id := range want {
			want[id] = call{fn: "echo", s: randomString(r, 64<<10)}
			req = framed{}.append(req, int32(id), want[id])
		}
	} else {
		req = []byte("GET /big.bin HTTP/1.1\r\nHost: soak\r\n\r\n")
	}
	// Written on the side: the server stops reading while its answers
	// wait, and the abort ends the write.
	go func() {
		c.SetWriteDeadline(time.Now().Add(2 * ioTimeout))
		c.Write(req)
	}()
	timeout := s.cfg.WriteTimeout
	deadline := start.Add(s.cfg.IdleTimeout + timeout*5/4 + slack)
	peer := c.LocalAddr().String()
	var at time.Time
	for ok := false; !ok; {
		if at, ok = s.srv.log.writeTimedOut(peer); ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s connection %s still not aborted %v after it stopped reading, write time-out %v",
				what, peer, time.Since(start).Round(time.Millisecond), timeout)
		}
		// The stall itself: the soak does not read while it waits.
		time.Sleep(100 * time.Millisecond)
	}
	if took := at.Sub(start); took < timeout*9/10 {
		return fmt.Errorf("%s connection %s aborted %v after it stopped reading, before the write time-out %v", what, peer, took.Round(time.Millisecond), timeout)
	}
	// Now read what reached the reader before the abort.
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReader(c)
	got := 0
	if calls {
		seen := make([]bool, n)
		for {
			id, reply, kind, err := framed{}.read(br)
			if err != nil {
				break // the abort's reset, or the end
			}
			if id < 0 || id >= n || seen[id] {
				return fmt.Errorf("framed connection %s: an answer to id %d, twice or never asked", peer, id)
			}
			seen[id] = true
			if err := want[id].check(reply, kind); err != nil {
				return fmt.Errorf("framed connection %s: %v", peer, err)
			}
			got++
		}
	} else {
		body, _ := io.ReadAll(br)
		if len(body) > 0 && !bytes.HasPrefix(body, []byte("HTTP/1.1 200 ")) {
			return fmt.Errorf("HTTP connection %s: got %.40q", peer, body)
		}
		if file := s.files["/big.bin"]; len(body) >= len(file) && bytes.HasSuffix(body, file) {
			got = 1 // the whole response came: the kernels held it all
		}
	}
	s.n.stalled.Add(1)
	s.n.stalledAnswers.Add(int64(got))
	s.n.stalledDropped.Add(int64(asked - got))
	return nil
}
