//go:build unix

package endpoints_test

import (
	"fmt"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/internet/endpoints"
	"github.com/twistgo/twist/reactor"
)

type echo struct{ internet.BaseProtocol }

func (e *echo) DataReceived(b []byte) { _, _ = e.Transport.Write(b) }

type hello struct {
	internet.BaseProtocol
	loop *reactor.Reactor
}

func (h *hello) ConnectionMade(t internet.Transport) {
	h.BaseProtocol.ConnectionMade(t)
	_, _ = t.Write([]byte("hello"))
}

func (h *hello) DataReceived(b []byte) {
	fmt.Printf("echoed: %s\n", b)
	h.Transport.LoseConnection()
}

func (h *hello) ConnectionLost(error) { _ = h.loop.Stop() }

// A server and a client, each from a description, as a program takes them
// from its flags.
func Example() {
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	server, err := endpoints.ServerFromString(loop, "tcp:0:interface=127.0.0.1")
	if err != nil {
		panic(err)
	}
	server.Listen(internet.FactoryFunc(func(net.Addr) internet.Protocol { return &echo{} })).AddCallback(func(v any) (any, error) {
		port := v.(endpoints.Port)
		desc := fmt.Sprintf("tcp:host=127.0.0.1:port=%d", port.Addr().(*net.TCPAddr).Port)
		client, err := endpoints.ClientFromString(loop, desc)
		if err != nil {
			return nil, err
		}
		h := &hello{loop: loop}
		return client.Connect(internet.FactoryFunc(func(net.Addr) internet.Protocol { return h })), nil
	}).AddErrback(func(f *deferred.Failure) (any, error) {
		fmt.Println(f.Error())
		return nil, loop.Stop()
	})
	_ = loop.Run()
	// Output: echoed: hello
}

// A description that cannot be parsed names itself and the cause.
func ExampleServerFromString_error() {
	_, err := endpoints.ServerFromString((*reactor.Reactor)(nil), "tcp:80:iface=127.0.0.1")
	fmt.Println(err)
	// Output: endpoints: bad description "tcp:80:iface=127.0.0.1": tcp endpoints have no parameter "iface"
}

// Arguments that hold colons or backslashes, such as Windows paths or IPv6
// addresses, are escaped with a backslash.
func ExampleQuoteStringArgument() {
	fmt.Println("tcp6:443:interface=" + endpoints.QuoteStringArgument("::1"))
	// Output: tcp6:443:interface=\:\:1
}
