package rpc_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
)

// A server registers an ordinary Go function, and a call to it by name
// goes through Dispatch, as every transport's calls do.
func Example() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	_, args, _ := bson.MarshalValue(bson.A{1, 2})
	v, err := s.Dispatch(context.Background(), nil, "add", args).Result()
	fmt.Println(v, err)
	// Output: 3 <nil>
}

// AppendCall writes a result that is ready at once straight into the
// caller's buffer, as one BSON element: here, the whole of a document.
func ExampleServer_AppendCall() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	_, args, _ := bson.MarshalValue(bson.A{1, 2})
	idx, doc := bsoncore.AppendDocumentStart(nil)
	doc, d, err := s.AppendCall(doc, context.Background(), nil, "reply", "add", args)
	doc, _ = bsoncore.AppendDocumentEnd(doc, idx)
	fmt.Println(bson.Raw(doc), d == nil, err)
	// Output: {"reply": {"$numberInt":"3"}} true <nil>
}

// Dial connects from any goroutine, and Call blocks only its caller: the
// client runs on a loop that the clients of Dial share.
func ExampleDial() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	addrs, stop := serve(s.Factory())
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, addrs[0])
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var sum int
	err = c.Call(ctx, "add", []any{1, 2}, &sum)
	fmt.Println(sum, err)

	// An error answer is an *rpc.Error naming its kind; the detail names
	// the function and the argument that did not fit.
	var e *rpc.Error
	err = c.Call(ctx, "add", []any{1, "two"}, &sum)
	fmt.Println(errors.As(err, &e), e.Message)
	fmt.Println(e.Detail)
	// Output:
	// 3 <nil>
	// true BadArguments
	// add: argument 2: want int, got BSON string "two"
}

// One Server answers both protocols: the framed one, for rpc.Dial and the
// Node.js client, and the MongoDB wire protocol, for mongosh and the
// MongoDB drivers.
func Example_bothProtocols() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	addrs, stop := serve(s.Factory(), mongowire.NewServer(s))
	defer stop()

	ctx := context.Background()
	c, err := rpc.Dial(ctx, addrs[0])
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var sum int
	err = c.Call(ctx, "add", []any{1, 2}, &sum)
	fmt.Println("framed:", sum, err)

	// What mongosh sends for db.runCommand({add: [2, 3]}).
	reply, err := runCommand(addrs[1], bson.D{{Key: "add", Value: bson.A{2, 3}}, {Key: "$db", Value: "test"}})
	fmt.Println("wire:", reply, err)
	// Output:
	// framed: 3 <nil>
	// wire: {"reply": {"$numberInt":"5"},"ok": {"$numberDouble":"1.0"}} <nil>
}

// serve listens with each factory on loopback, all on one loop of their
// own, and returns their addresses and what stops the loop.
func serve(factories ...internet.Factory) ([]string, func()) {
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	var addrs []string
	for _, f := range factories {
		port, err := internet.ListenTCP(loop, "127.0.0.1:0", f)
		if err != nil {
			panic(err)
		}
		addrs = append(addrs, port.Addr().String())
	}
	go func() { _ = loop.Run() }()
	return addrs, func() {
		loop.CallFromThread(func() { _ = loop.Stop() })
		<-loop.Done()
	}
}

// runCommand sends cmd as an OP_MSG, as a MongoDB driver does, and returns
// the document of the reply.
func runCommand(addr string, cmd bson.D) (bson.Raw, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	doc, err := bson.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	const opMsg = 2013
	msg := binary.LittleEndian.AppendUint32(nil, uint32(16+4+1+len(doc)))
	msg = binary.LittleEndian.AppendUint32(msg, 1)     // requestID
	msg = binary.LittleEndian.AppendUint32(msg, 0)     // responseTo
	msg = binary.LittleEndian.AppendUint32(msg, opMsg) // opCode
	msg = binary.LittleEndian.AppendUint32(msg, 0)     // flagBits
	msg = append(msg, 0)                               // section kind 0: the body
	if _, err := conn.Write(append(msg, doc...)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil, err
	}
	rest := make([]byte, binary.LittleEndian.Uint32(size[:])-4)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return nil, err
	}
	return bson.Raw(rest[12+4+1:]), nil
}
