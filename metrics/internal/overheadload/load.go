package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// A workload is what one connection sends for a round trip, and how it
// reads and checks the answer.
type workload struct {
	msg  []byte
	read func(c net.Conn, buf []byte) error
}

// workloads are the round trips measured, by name: those of the echo and
// RPC benchmarks (bench/cmd/echobench, bench/cmd/rpcbench), each on its
// own listener of the bench server.
var workloads = map[string]workload{
	// 64 bytes echoed, echobench's message.
	"echo": {make([]byte, 64), func(c net.Conn, buf []byte) error {
		_, err := io.ReadFull(c, buf[:64])
		return err
	}},
	// add(1, 2) over Twist's framed protocol, the frame of rpcbench's raw
	// client.
	"framed": {framedCall(), readFramed},
	// {add: [1, 2], $db: "bench"} as an OP_MSG: what the Go driver sends
	// in rpcbench's mongowire case, less its session id.
	"mongo": {opMsg(bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "bench"}}), readOpMsg},
}

// listener is the bench server's listener of each workload (the "listen
// PROTO ADDR" lines of bench.Serve).
var listener = map[string]string{"echo": "echo", "framed": "framed", "mongo": "mongo"}

// framedCall is the frame of a call of add(1, 2), id 1.
func framedCall() []byte {
	doc := bsoncore.NewDocumentBuilder().
		AppendDocument("call", bsoncore.NewDocumentBuilder().
			AppendString("funcname", "add").
			AppendArray("arguments", bsoncore.NewArrayBuilder().AppendInt32(1).AppendInt32(2).Build()).
			Build()).
		AppendInt32("id", 1).
		Build()
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(doc))), doc...)
}

// readFramed reads one framed answer and checks that it is the reply 3.
func readFramed(c net.Conn, buf []byte) error {
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(buf))
	if n > len(buf) {
		return fmt.Errorf("an answer of %d bytes", n)
	}
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		return err
	}
	return checkReply(bsoncore.Document(buf[:n]))
}

// opMsg frames doc as an OP_MSG with one kind-0 section.
func opMsg(doc bson.D) []byte {
	body, err := bson.Marshal(doc)
	if err != nil {
		panic(err)
	}
	b := make([]byte, 16, 21+len(body))
	binary.LittleEndian.PutUint32(b[12:], 2013) // OP_MSG
	b = append(b, 0, 0, 0, 0, 0)                // flags, section kind 0
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// readOpMsg reads one OP_MSG answer and checks that it is the reply 3.
func readOpMsg(c net.Conn, buf []byte) error {
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return err
	}
	n := int(binary.LittleEndian.Uint32(buf))
	if n < 21 || n > len(buf) {
		return fmt.Errorf("a message of %d bytes", n)
	}
	if _, err := io.ReadFull(c, buf[4:n]); err != nil {
		return err
	}
	return checkReply(bsoncore.Document(buf[21:n]))
}

func checkReply(doc bsoncore.Document) error {
	if v, ok := doc.Lookup("reply").AsInt64OK(); !ok || v != 3 {
		return errors.New("add(1, 2) was not answered with the reply 3")
	}
	return nil
}

// run makes w's round trips to addr on conns connections, one in flight
// on each: n in all, or, if n is 0, as many as fit in d. It returns how
// many it made.
func (w workload) run(addr string, conns, n int, d time.Duration) (int, error) {
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			for _, c := range cs[:i] {
				c.Close()
			}
			return 0, err
		}
		cs[i] = c
	}
	until := time.Now().Add(d)
	counts := make([]int, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i, c := range cs {
		each := n / conns
		if i < n%conns {
			each++
		}
		wg.Go(func() {
			defer c.Close()
			buf := make([]byte, 64<<10)
			for n == 0 || counts[i] < each {
				if n == 0 && counts[i]%64 == 0 && !time.Now().Before(until) {
					return
				}
				if _, err := c.Write(w.msg); err != nil {
					errs[i] = err
					return
				}
				if err := w.read(c, buf); err != nil {
					errs[i] = err
					return
				}
				counts[i]++
			}
		})
	}
	wg.Wait()
	total := 0
	for _, k := range counts {
		total += k
	}
	if err := errors.Join(errs...); err != nil {
		return total, err
	}
	return total, nil
}
