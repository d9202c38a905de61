package twisttest_test

import (
	"fmt"
	"net"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

// slurper collects what the server sends until it hangs up.
type slurper struct {
	internet.BaseClientFactory
	got  []byte
	done *deferred.Deferred
}

func (s *slurper) BuildProtocol(net.Addr) internet.Protocol { return s }
func (s *slurper) ConnectionMade(internet.Transport)        {}
func (s *slurper) DataReceived(b []byte)                    { s.got = append(s.got, b...) }
func (s *slurper) ConnectionLost(error)                     { s.done.Callback(string(s.got)) }
func (s *slurper) ClientConnectionFailed(_ internet.Connector, reason error) {
	s.done.Errback(reason)
}

// download is code under test: it takes a internet.Net, so that a program
// passes internet.RealNet(loop) and a test a MemoryReactorClock. It gives up
// after a minute on n's clock.
func download(n internet.Net, addr string) *deferred.Deferred {
	s := &slurper{done: deferred.New()}
	c := n.ConnectTCP(addr, s)
	return s.done.AddTimeout(time.Minute, n, func(any, time.Duration) (any, error) {
		c.Disconnect()
		return nil, fmt.Errorf("no poem from %s within a minute", addr)
	})
}

func ExampleMemoryReactorClock() {
	m := twisttest.NewMemoryReactorClock()
	d := download(m, "127.0.0.1:10000")

	// Play the server's part: connect, send, hang up.
	c := m.TCPClients[0]
	fmt.Println("connecting to", c.Address)
	p := c.Complete(&twisttest.StringTransport{})
	p.DataReceived([]byte("Shall I compare thee"))
	c.Lose(internet.ErrConnectionDone)
	fmt.Println(d.Result())

	// A server that never answers: the fake clock runs the time-out.
	d = download(m, "127.0.0.1:10001")
	m.Advance(time.Minute)
	_, err := d.Result()
	fmt.Println(err)
	// Output:
	// connecting to 127.0.0.1:10000
	// Shall I compare thee <nil>
	// no poem from 127.0.0.1:10001 within a minute
}
