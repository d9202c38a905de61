// Command overheadload makes the fixed workloads of the instrumentation's
// overhead measurement (callgrind.sh, next to it): N round trips, one at a
// time, on one connection to a twistd server, so that the server does the
// same work for each and its instruction count per round trip is exact.
//
//	overheadload -mode echo -addr 127.0.0.1:8007 -n 20000    # 64 bytes echoed
//	overheadload -mode framed -addr 127.0.0.1:9000 -n 20000  # add(1, 2), Twist's framed RPC
//	overheadload -mode mongo -addr 127.0.0.1:27017 -n 20000  # {add: [1, 2]}, an OP_MSG
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
)

func main() {
	mode := flag.String("mode", "echo", "the workload: echo, framed or mongo")
	addr := flag.String("addr", "127.0.0.1:8007", "the server's address")
	n := flag.Int("n", 10000, "round trips")
	flag.Parse()
	var err error
	switch *mode {
	case "echo":
		err = exchange(*addr, *n, make([]byte, 64), func(c net.Conn, buf []byte) error {
			_, err := io.ReadFull(c, buf[:64])
			return err
		})
	case "mongo":
		err = exchange(*addr, *n, opMsg(bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}}), readMessage)
	case "framed":
		err = framed(*addr, *n)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "overheadload:", err)
		os.Exit(1)
	}
}

// exchange writes msg n times on one connection, reading each answer with
// read before the next.
func exchange(addr string, n int, msg []byte, read func(net.Conn, []byte) error) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	for range n {
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if err := read(c, buf); err != nil {
			return err
		}
	}
	return nil
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

// readMessage reads one wire-protocol message: its length comes first.
func readMessage(c net.Conn, buf []byte) error {
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return err
	}
	n := int(binary.LittleEndian.Uint32(buf))
	if n < 16 || n > len(buf) {
		return fmt.Errorf("a message of %d bytes", n)
	}
	_, err := io.ReadFull(c, buf[4:n])
	return err
}

// framed calls add(1, 2) n times with Twist's RPC client.
func framed(addr string, n int) error {
	c, err := rpc.Dial(context.Background(), addr)
	if err != nil {
		return err
	}
	defer c.Close()
	for range n {
		var sum int
		if err := c.Call(context.Background(), "add", []any{1, 2}, &sum); err != nil {
			return err
		}
		if sum != 3 {
			return fmt.Errorf("add(1, 2) = %d", sum)
		}
	}
	return nil
}
