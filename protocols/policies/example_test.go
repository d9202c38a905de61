package policies_test

import (
	"fmt"
	"net"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/policies"
	"github.com/twistgo/twist/twisttest"
)

// A server's factory wrapped with an idle time-out and a connection cap.
func Example() {
	clk := twisttest.NewClock()
	echo := internet.FactoryFunc(func(net.Addr) internet.Protocol { return &internet.BaseProtocol{} })
	f := policies.LimitTotalConnections(
		policies.Timeout(echo, policies.TimeoutConfig{Idle: time.Minute, Clock: clk}), 100)

	peer := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4321}
	p := f.BuildProtocol(peer)
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	p.ConnectionMade(tr)
	fmt.Println("open:", f.Policy.(*policies.ConnectionLimit).Count())
	clk.Advance(time.Minute)
	fmt.Println("closed by the idle time-out:", tr.Disconnecting())
	fmt.Println("open:", f.Policy.(*policies.ConnectionLimit).Count())
	// Output:
	// open: 1
	// closed by the idle time-out: true
	// open: 0
}
