package twisttest_test

import (
	"fmt"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

// greeter greets on connect and hangs up on the first data it receives.
type greeter struct{ internet.BaseProtocol }

func (g *greeter) ConnectionMade(t internet.Transport) {
	g.BaseProtocol.ConnectionMade(t)
	fmt.Fprintf(t, "hello %v\r\n", t.RemoteAddr())
}

func (g *greeter) DataReceived(data []byte) {
	g.Transport.Write([]byte("bye\r\n"))
	g.Transport.LoseConnection()
}

func (g *greeter) ConnectionLost(reason error) { fmt.Println("lost:", reason) }

func ExampleStringTransport() {
	p := &greeter{}
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	fmt.Printf("%q\n", tr.Value())

	tr.Clear()
	p.DataReceived([]byte("anything"))
	fmt.Printf("%q disconnecting=%v aborted=%v\n", tr.Value(), tr.Disconnecting(), tr.Aborted())
	// Output:
	// "hello 192.168.1.1:54321\r\n"
	// "bye\r\n" disconnecting=true aborted=false
}

func ExampleStringTransportWithDisconnection() {
	p := &greeter{}
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	p.ConnectionMade(tr)
	p.DataReceived([]byte("anything"))
	// Output:
	// lost: internet: connection was closed cleanly
}
