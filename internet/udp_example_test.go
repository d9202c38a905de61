//go:build unix

package internet_test

import (
	"fmt"
	"net"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// echoUDP sends every datagram back to its sender.
type echoUDP struct{ internet.BaseDatagramProtocol }

func (e *echoUDP) DatagramReceived(data []byte, addr net.Addr) {
	e.Transport.WriteTo(data, addr)
}

// echoClient prints what comes back and stops the loop.
type echoClient struct {
	internet.BaseDatagramProtocol
	loop *reactor.Reactor
}

func (c *echoClient) DatagramReceived(data []byte, addr net.Addr) {
	fmt.Printf("echoed: %s\n", data)
	c.loop.Stop()
}

// An echo server and a client on one loop, over UDP on the loopback.
func ExampleListenUDP() {
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	server, err := internet.ListenUDP(loop, "127.0.0.1:0", &echoUDP{})
	if err != nil {
		panic(err)
	}
	client, err := internet.ListenUDP(loop, "127.0.0.1:0", &echoClient{loop: loop})
	if err != nil {
		panic(err)
	}
	if err := client.Connect(server.LocalAddr().String()); err != nil {
		panic(err)
	}
	if err := client.Write([]byte("hello, UDP")); err != nil {
		panic(err)
	}
	if err := loop.Run(); err != nil {
		panic(err)
	}
	// Output: echoed: hello, UDP
}
