package wire_test

import (
	"fmt"

	"github.com/twistgo/twist/protocols/wire"
	"github.com/twistgo/twist/twisttest"
)

func ExampleEcho() {
	p := wire.EchoFactory.BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	p.DataReceived([]byte("hello"))
	fmt.Printf("%s\n", tr.Value())
	// Output: hello
}

func ExampleDaytimeFactory() {
	clk := twisttest.NewClock() // at the Unix epoch
	p := (&wire.DaytimeFactory{Clock: clk}).BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	fmt.Printf("%q, closing: %v\n", tr.Value(), tr.Disconnecting())
	// Output: "Thu Jan  1 00:00:00 1970\r\n", closing: true
}
