package basic_test

import (
	"errors"
	"fmt"
	"net"
	"strings"

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

// Command is a line protocol that refuses what it does not understand.
type Command struct {
	basic.LineOnlyReceiver
}

var errUnknownCommand = errors.New("unknown command")

// LineReceived answers "ping" and aborts on anything else, as a Twisted
// lineReceived returns a reason.
func (c *Command) LineReceived(line []byte) {
	if string(line) != "ping" {
		c.AbortWith(errUnknownCommand)
		return
	}
	c.SendLine([]byte("pong"))
}

func ExampleLineOnlyReceiver_AbortWith() {
	c := &Command{}
	c.Handler = c
	tr := &twisttest.StringTransport{}
	c.ConnectionMade(tr)

	c.DataReceived([]byte("ping\r\nrm -rf\r\nping\r\n"))
	fmt.Printf("%q aborted=%v reason=%v\n", tr.Value(), tr.Aborted(), tr.Reason())
	// Output:
	// "pong\r\n" aborted=true reason=unknown command
}

func ExampleFileSender() {
	tr := &twisttest.StringTransport{}
	s := &basic.FileSender{ChunkSize: 4}
	d := s.BeginFileTransfer(strings.NewReader("Tyger Tyger"), tr, nil)
	d.AddCallback(func(last any) (any, error) {
		fmt.Printf("sent %q, last byte %q\n", tr.Value(), last)
		tr.LoseConnection()
		return nil, nil
	})
	// A real transport asks for each chunk as its output queue drains.
	for tr.Producer() != nil {
		s.ResumeProducing()
	}
	// Output:
	// sent "Tyger Tyger", last byte "r"
}
