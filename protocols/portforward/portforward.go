// Package portforward forwards TCP connections to a fixed destination
// (Twisted's twisted.protocols.portforward): each connection accepted is
// spliced with a new connection to the destination.
//
// It forwards whatever reaches it to wherever it points, without
// authentication: listen on an interface that only those who may use the
// destination can reach.
package portforward

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/relay"
	"github.com/twistgo/twist/reactor"
)

// Factory serves each connection by connecting to Dest on Loop and splicing
// the two connections together (Twisted's ProxyFactory).
type Factory struct {
	// Loop makes the connections to Dest.
	Loop *reactor.Reactor
	// Dest is the "host:port" connections are forwarded to.
	Dest string
}

// BuildProtocol returns the forwarding protocol.
func (f *Factory) BuildProtocol(net.Addr) internet.Protocol { return &forwarder{f: f} }

// forwarder is the server side of a forwarded connection.
type forwarder struct {
	relay.Relay
	f          *Factory
	connecting *deferred.Deferred
}

func (p *forwarder) ConnectionMade(t internet.Transport) {
	p.Relay.ConnectionMade(t)
	// Read nothing until the other side is there to take it.
	t.PauseProducing()
	p.connecting = relay.Connect(p.f.Loop, p.f.Dest, &p.Relay, func(err error) {
		slog.Default().Info(fmt.Sprintf("portforward: cannot connect to %s: %v", p.f.Dest, err))
		t.LoseConnection()
	}, func() { t.ResumeProducing() })
}

func (p *forwarder) ConnectionLost(reason error) {
	if p.connecting != nil && !p.connecting.Called() {
		p.connecting.Cancel()
	}
	p.Relay.ConnectionLost(reason)
}
