//go:build unix

package internet_test

import (
	"fmt"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// echoProtocol writes back what it reads.
type echoProtocol struct{ internet.BaseProtocol }

func (e *echoProtocol) DataReceived(data []byte) { _, _ = e.Transport.Write(data) }

// greeter sends a greeting, prints the echo and closes.
type greeter struct {
	internet.BaseProtocol
	loop *reactor.Reactor
}

func (g *greeter) DataReceived(data []byte) {
	fmt.Printf("echoed: %s\n", data)
	g.Transport.LoseConnection()
}

func (g *greeter) ConnectionLost(reason error) {
	fmt.Println("closed cleanly:", reason == internet.ErrConnectionDone)
	_ = g.loop.Stop()
}

// An echo server on a loop, and a client that connects to it.
func ExampleListenTCP() {
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	port, err := internet.ListenTCP(loop, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &echoProtocol{}
	}))
	if err != nil {
		panic(err)
	}
	client := &greeter{loop: loop}
	internet.ConnectProtocol(loop, port.Addr().String(), client).AddCallback(func(any) (any, error) {
		_, err := client.Transport.Write([]byte("hello"))
		return nil, err
	}).AddErrback(func(f *deferred.Failure) (any, error) {
		fmt.Println("connect failed:", f)
		return nil, loop.Stop()
	})
	_ = loop.Run()
	// Output:
	// echoed: hello
	// closed cleanly: true
}
