package basic_test

import (
	"fmt"
	"net"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// Echo is a line protocol: the user writes only the line handler.
type Echo struct {
	basic.LineReceiver
}

// LineReceived echoes each line, and closes the connection on "bye".
func (e *Echo) LineReceived(line []byte) {
	if string(line) == "bye" {
		e.Transport.LoseConnection()
		return
	}
	e.SendLine(line)
}

// echoFactory builds an Echo per connection, pointing its Handler at itself.
var echoFactory = internet.FactoryFunc(func(net.Addr) internet.Protocol {
	e := &Echo{}
	e.Handler = e
	return e
})

func ExampleLineReceiver() {
	tr := &twisttest.StringTransport{}
	p := echoFactory.BuildProtocol(tr.RemoteAddr())
	p.ConnectionMade(tr)

	p.DataReceived([]byte("hello\r\nwor"))
	p.DataReceived([]byte("ld\r\nbye\r\nignored\r\n"))
	fmt.Printf("%q disconnecting=%v\n", tr.Value(), tr.Disconnecting())
	// Output:
	// "hello\r\nworld\r\n" disconnecting=true
}

// Sizer answers each length-prefixed string with its length and the string.
type Sizer struct {
	basic.Int32StringReceiver
}

func (u *Sizer) StringReceived(s []byte) {
	u.SendString(fmt.Appendf(nil, "%d:%s", len(s), s))
}

func ExampleInt32StringReceiver() {
	u := &Sizer{}
	u.Handler = u
	tr := &twisttest.StringTransport{}
	u.ConnectionMade(tr)

	u.DataReceived([]byte("\x00\x00\x00\x05hel"))
	u.DataReceived([]byte("lo\x00\x00\x00\x00"))
	fmt.Printf("%q\n", tr.Value())
	// Output:
	// "\x00\x00\x00\a5:hello\x00\x00\x00\x020:"
}
