// Package relay splices two connections together, the engine of the port
// forwarder and the SOCKS proxy: what one side reads, the other writes, with
// flow control both ways.
package relay

import (
	"errors"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// Relay is one side of a spliced pair of connections: what it reads, its
// peer writes. Each transport is the producer of the other's output, so that
// a slow reader on one side pauses reading on the other, and the loss of
// either side closes the other once its queued output is written.
type Relay struct {
	internet.BaseProtocol
	peer *Relay
}

// Splice joins a and b, whose transports are connected.
func Splice(a, b *Relay) {
	a.peer, b.peer = b, a
	a.Transport.RegisterProducer(b.Transport, true)
	b.Transport.RegisterProducer(a.Transport, true)
}

// Peer returns the other side, or nil before Splice and after a loss.
func (r *Relay) Peer() *Relay { return r.peer }

// DataReceived writes data to the peer.
func (r *Relay) DataReceived(data []byte) {
	if r.peer != nil {
		r.peer.Transport.Write(data)
	}
}

// ConnectionLost closes the peer once its queued output is written.
func (r *Relay) ConnectionLost(reason error) {
	peer := r.peer
	if peer == nil {
		return
	}
	r.peer, peer.peer = nil, nil
	// The peer's producer was this connection: unregister it so that the
	// peer closes once its queued output is written.
	peer.Transport.UnregisterProducer()
	peer.Transport.LoseConnection()
}

// Connect connects to dest ("host:port") and, once connected, splices the
// new connection with local and calls connected; failed is called if it
// cannot connect. Cancelling the returned Deferred (the local side went
// away) stops the attempt, or closes the new connection if it has just been
// made.
func Connect(loop *reactor.Reactor, dest string, local *Relay, failed func(error), connected func()) *deferred.Deferred {
	remote := &Relay{}
	d := internet.ConnectProtocol(loop, dest, remote)
	d.AddCallbacks(func(any) (any, error) {
		Splice(local, remote)
		connected()
		return nil, nil
	}, func(f *deferred.Failure) (any, error) {
		if !errors.Is(f, deferred.ErrCancelled) {
			failed(f.Unwrap())
		}
		return nil, nil
	})
	return d
}
