package main

import (
	"github.com/twistgo/twist/internet"
)

// relay is one side of a spliced pair of connections: what it reads, its
// peer writes. Each transport is the producer of the other's output, so
// that a slow reader on one side pauses reading on the other (flow control
// both ways), and the loss of either side closes the other.
type relay struct {
	internet.BaseProtocol
	peer *relay
}

// splice joins a and b, whose transports are connected.
func splice(a, b *relay) {
	a.peer, b.peer = b, a
	a.Transport.RegisterProducer(b.Transport, true)
	b.Transport.RegisterProducer(a.Transport, true)
}

func (r *relay) DataReceived(data []byte) {
	if r.peer != nil {
		r.peer.Transport.Write(data)
	}
}

func (r *relay) ConnectionLost(reason error) {
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
