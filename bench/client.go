package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	twistrpc "github.com/twistgo/twist/rpc"
)

// A loadFunc makes calls until the time until and returns the latencies,
// in nanoseconds, of the calls that started at from or later.
type loadFunc func(from, until time.Time) ([]int64, error)

// A callFunc makes one call and waits for its answer.
type callFunc func() error

// A dialFunc makes n connections to addr and returns a call on each, and
// what closes them all.
type dialFunc func(addr string, n int) ([]callFunc, func(), error)

// dialEach makes n connections with dial, one at a time.
func dialEach(n int, dial func() (callFunc, func(), error)) ([]callFunc, func(), error) {
	var (
		calls  []callFunc
		closes []func()
	)
	closeAll := func() {
		for _, c := range closes {
			c()
		}
	}
	for range n {
		call, closeConn, err := dial()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		calls = append(calls, call)
		closes = append(closes, closeConn)
	}
	return calls, closeAll, nil
}

// loop turns a call into a load that makes it again and again.
func loop(call callFunc) loadFunc {
	return func(from, until time.Time) ([]int64, error) {
		var lat []int64
		for {
			start := time.Now()
			if !start.Before(until) {
				return lat, nil
			}
			if err := call(); err != nil {
				return lat, err
			}
			if !start.Before(from) {
				lat = append(lat, int64(time.Since(start)))
			}
		}
	}
}

// errWrongAnswer is the error of a call answered with anything but 3.
var errWrongAnswer = errors.New("bench: add(1, 2) was not answered with 3")

// callFrame returns the frame of a call of add(1, 2) with the given id.
func callFrame(id int32) []byte {
	doc := bsoncore.NewDocumentBuilder().
		AppendDocument("call", bsoncore.NewDocumentBuilder().
			AppendString("funcname", "add").
			AppendArray("arguments", bsoncore.NewArrayBuilder().AppendInt32(1).AppendInt32(2).Build()).
			Build()).
		AppendInt32("id", id).
		Build()
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(doc))), doc...)
}

// framedReader reads the answers of the framed protocol.
type framedReader struct {
	r   *bufio.Reader
	buf []byte
}

func newFramedReader(c net.Conn) *framedReader {
	return &framedReader{r: bufio.NewReaderSize(c, 64<<10)}
}

// next reads one answer and returns its id, checking that it is the reply 3.
func (f *framedReader) next() (int32, error) {
	var size [4]byte
	if _, err := io.ReadFull(f.r, size[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n > 1<<20 {
		return 0, fmt.Errorf("bench: answer of %d bytes", n)
	}
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	doc := bsoncore.Document(f.buf[:n])
	if _, err := io.ReadFull(f.r, doc); err != nil {
		return 0, err
	}
	if v, ok := doc.Lookup("reply").AsInt64OK(); !ok || v != 3 {
		return 0, fmt.Errorf("%w: %v", errWrongAnswer, doc)
	}
	id, _ := doc.Lookup("id").Int32OK()
	return id, nil
}

// framedDial returns calls of add(1, 2) on n connections to addr, speaking
// the framed protocol directly: write a frame, read the answer.
func framedDial(addr string, n int) ([]callFunc, func(), error) {
	frame := callFrame(1)
	return dialEach(n, func() (callFunc, func(), error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		r := newFramedReader(c)
		return func() error {
			if _, err := c.Write(frame); err != nil {
				return err
			}
			_, err := r.next()
			return err
		}, func() { c.Close() }, nil
	})
}

// framedPipeline returns a load that keeps depth calls of add(1, 2) in
// flight on one connection to addr: a writer sends a call, in one write with
// any others that can go, whenever an answer frees a slot, and a reader
// takes the answers, whose ids name the slots.
func framedPipeline(addr string, depth int) (loadFunc, func(), error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	frames := make([][]byte, depth)
	for i := range frames {
		frames[i] = callFrame(int32(i))
	}
	last := callFrame(-1)
	load := func(from, until time.Time) ([]int64, error) {
		started := make([]atomic.Int64, depth) // UnixNano of each slot's call
		free := make(chan int32, depth)
		for i := range depth {
			free <- int32(i)
		}
		// The writer stops at until and sends a last call with the id -1:
		// once its answer has come, sent is final, and the reader stops when
		// every call sent has its answer.
		var sent atomic.Int64
		werr := make(chan error, 1)
		go func() {
			err := func() error {
				timer := time.NewTimer(time.Until(until))
				defer timer.Stop()
				var buf []byte
				for {
					var slot int32
					select {
					case slot = <-free:
					case <-timer.C:
						return nil
					}
					now := time.Now()
					if !now.Before(until) {
						return nil
					}
					buf = buf[:0]
					for more := true; more; {
						started[slot].Store(now.UnixNano())
						buf = append(buf, frames[slot]...)
						sent.Add(1)
						select {
						case slot = <-free:
						default:
							more = false
						}
					}
					if _, err := c.Write(buf); err != nil {
						return err
					}
				}
			}()
			if err == nil {
				_, err = c.Write(last)
			}
			werr <- err
		}()
		if err := c.SetReadDeadline(until.Add(10 * time.Second)); err != nil {
			return nil, err
		}
		r := newFramedReader(c)
		var lat []int64
		var got int64
		finished := false
		for !finished || got < sent.Load() {
			id, err := r.next()
			if err != nil {
				return lat, err
			}
			if id == -1 {
				finished = true
				continue
			}
			if id < 0 || int(id) >= depth {
				return lat, fmt.Errorf("bench: answer to unknown id %d", id)
			}
			got++
			start := started[id].Load()
			if start >= from.UnixNano() {
				lat = append(lat, time.Now().UnixNano()-start)
			}
			free <- id
		}
		return lat, <-werr
	}
	return load, func() { c.Close() }, nil
}

// twistDial dials n rpc.Clients to addr with rpc.Dial, on the loop the
// clients of Dial share, and returns calls of add(1, 2) through their Call.
func twistDial(addr string, n int) ([]callFunc, func(), error) {
	return dialEach(n, func() (callFunc, func(), error) {
		c, err := twistrpc.Dial(context.Background(), addr)
		if err != nil {
			return nil, nil, err
		}
		return twistCall(c), c.Close, nil
	})
}

// twistCall returns a call of add(1, 2) through c.Call.
func twistCall(c *twistrpc.Client) callFunc {
	args := []any{1, 2}
	return func() error {
		var n int
		if err := c.Call(context.Background(), "add", args, &n); err != nil {
			return err
		}
		if n != 3 {
			return errWrongAnswer
		}
		return nil
	}
}

// mongoClient connects the official Go driver to the MongoDB wire server at
// addr as a user would: one Client shared by every goroutine, the driver's
// defaults but two. directConnection=true, since the server is a
// standalone and not a replica set to discover; and a pool of up to pool
// connections (the default is 100), so that the driver's 50 goroutines
// use at most as many connections as net/rpc's 50 clients. Sessions,
// retries, monitoring and time-outs are the driver's defaults. The driver
// attaches its implicit session (lsid) to each call, as it would with
// MongoDB: the server advertises logicalSessionTimeoutMinutes, and leaving
// it out saves the driver nothing measurable (BenchmarkGoDriverCall:
// 4.1 KB and 58 allocations per call without, 4.4 KB and 55 with).
func mongoClient(addr string, pool uint64) (*mongo.Client, error) {
	return mongo.Connect(options.Client().
		ApplyURI("mongodb://" + addr + "/?directConnection=true").
		SetMaxPoolSize(pool))
}

// mongoDial returns a dialFunc of n Go driver clients, each with a pool of
// up to pool connections.
func mongoDial(pool uint64) dialFunc {
	return func(addr string, n int) ([]callFunc, func(), error) {
		return dialEach(n, func() (callFunc, func(), error) {
			c, err := mongoClient(addr, pool)
			if err != nil {
				return nil, nil, err
			}
			return mongoCall(c), func() { _ = c.Disconnect(context.Background()) }, nil
		})
	}
}

// mongoCall returns a call of add(1, 2) as the command {add: [1, 2]}.
func mongoCall(c *mongo.Client) callFunc {
	db := c.Database("bench")
	cmd := bson.D{{Key: "add", Value: bson.A{1, 2}}}
	return func() error {
		raw, err := db.RunCommand(context.Background(), cmd).Raw()
		if err != nil {
			return err
		}
		if v, ok := raw.Lookup("reply").AsInt64OK(); !ok || v != 3 {
			return errWrongAnswer
		}
		return nil
	}
}

// netRPCDial returns calls of Arith.Add(1, 2) on n net/rpc clients of addr.
func netRPCDial(addr string, n int) ([]callFunc, func(), error) {
	args := &Args{1, 2}
	return dialEach(n, func() (callFunc, func(), error) {
		c, err := rpc.Dial("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		return func() error {
			var n int
			if err := c.Call("Arith.Add", args, &n); err != nil {
				return err
			}
			if n != 3 {
				return errWrongAnswer
			}
			return nil
		}, func() { c.Close() }, nil
	})
}

// grpcDial returns calls of bench.Calc/Add(1, 2) on n gRPC client
// connections to addr, each one HTTP/2 connection.
func grpcDial(addr string, n int) ([]callFunc, func(), error) {
	req := &structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(1), structpb.NewNumberValue(2)}}
	return dialEach(n, func() (callFunc, func(), error) {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, nil, err
		}
		c.Connect()
		return func() error {
			var reply wrapperspb.Int64Value
			if err := c.Invoke(context.Background(), grpcAddMethod, req, &reply); err != nil {
				return err
			}
			if reply.Value != 3 {
				return errWrongAnswer
			}
			return nil
		}, func() { _ = c.Close() }, nil
	})
}

// CallFramed makes calls calls of add(1, 2) over conns connections to addr,
// speaking the framed protocol directly, one call in flight on each, and
// returns how long they took. Unlike Run it does a fixed amount of work, so
// that a server run under valgrind --tool=callgrind can be charged a count
// of instructions per call (rpcbench -load).
func CallFramed(addr string, conns, calls int) (time.Duration, error) {
	each, closeAll, err := framedDial(addr, conns)
	if err != nil {
		return 0, err
	}
	defer closeAll()
	start := time.Now()
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i, call := range each {
		n := calls / conns
		if i < calls%conns {
			n++
		}
		wg.Go(func() {
			for range n {
				if errs[i] = call(); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}
