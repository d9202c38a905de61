//go:build unix

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// callFrame is a framed call of funcname with args and id.
func callFrame(t *testing.T, funcname string, args bson.A, id int) []byte {
	t.Helper()
	body, err := bson.Marshal(bson.D{
		{Key: "call", Value: bson.D{{Key: "funcname", Value: funcname}, {Key: "arguments", Value: args}}},
		{Key: "id", Value: id},
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// Issue 11, finding 7: SIGTERM with thousands of calls in flight. Every call
// the server has read is answered before the connection closes, and twistd
// exits 0.
func TestSIGTERMDrainsCallsInFlight(t *testing.T) {
	const conns, callsPerConn = 40, 50 // 2,000 calls in flight
	p := start(t, t.TempDir(), "-n", "--pidfile", "", "rpc", "--port", "0", "--interface", "127.0.0.1",
		"--mongo-port", "-1", "--drain-timeout", "30s")
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.DialTimeout("tcp", p.addr(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		cs[i] = c
	}
	// Each connection: calls that take a second, then an echo. The server
	// reads in order, so the echo's answer means it has read every call.
	for _, c := range cs {
		var batch []byte
		for id := range callsPerConn {
			batch = append(batch, callFrame(t, "sleep", bson.A{1.0}, id)...)
		}
		batch = append(batch, callFrame(t, "echo", bson.A{"read"}, callsPerConn)...)
		if _, err := c.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	readAnswer := func(c net.Conn) (bson.Raw, error) {
		var n [4]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return nil, err
		}
		body := make([]byte, binary.BigEndian.Uint32(n[:]))
		_, err := io.ReadFull(c, body)
		return body, err
	}
	for _, c := range cs {
		a, err := readAnswer(c)
		if err != nil || a.Lookup("id").AsInt64() != callsPerConn {
			t.Fatalf("the echo was not answered first: %v, %v", a, err)
		}
	}
	done := make(chan int, 1)
	go func() { done <- p.stop(t, syscall.SIGTERM) }()

	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range callsPerConn {
				a, err := readAnswer(c)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %v instead of an answer", i, err)
					return
				}
				if _, ok := a.Lookup("reply").DocumentOK(); ok || a.Lookup("error").Type != 0 {
					errs <- fmt.Errorf("connection %d: answer %v", i, a)
					return
				}
			}
			if _, err := readAnswer(c); err != io.EOF {
				errs <- fmt.Errorf("connection %d: after every answer, %v instead of EOF", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if code := <-done; code != 0 {
		t.Errorf("exit status %d after draining\n%s", code, p.output())
	}
	p.waitFor(t, "drained")
}
