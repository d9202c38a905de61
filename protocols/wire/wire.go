// Package wire holds the simplest Internet services, as
// twisted.protocols.wire does: Echo (RFC 862), Discard (RFC 863) and Daytime
// (RFC 867).
package wire

import (
	"net"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
)

// Echo sends back whatever arrives.
type Echo struct{ internet.BaseProtocol }

// DataReceived writes data back.
func (e *Echo) DataReceived(data []byte) { e.Transport.Write(data) }

// EchoFactory builds Echo protocols.
var EchoFactory internet.Factory = internet.FactoryFunc(func(net.Addr) internet.Protocol { return &Echo{} })

// DiscardFactory builds protocols that drop whatever arrives (Discard).
var DiscardFactory internet.Factory = internet.FactoryFunc(func(net.Addr) internet.Protocol { return &internet.BaseProtocol{} })

// DaytimeFactory serves Daytime: the time on Clock as text, then the
// connection closes. RFC 867 leaves the format free; this is Twisted's
// (asctime, UTC).
type DaytimeFactory struct {
	// Clock tells the time.
	Clock clock.Clock
}

// BuildProtocol returns the Daytime protocol.
func (f *DaytimeFactory) BuildProtocol(net.Addr) internet.Protocol { return &daytime{clk: f.Clock} }

type daytime struct {
	internet.BaseProtocol
	clk clock.Clock
}

func (d *daytime) ConnectionMade(t internet.Transport) {
	t.Write([]byte(d.clk.Now().UTC().Format(time.ANSIC) + "\r\n"))
	t.LoseConnection()
}
