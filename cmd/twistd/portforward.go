package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

func init() {
	twistd.Register(twistd.ServiceMaker{
		Name:        "portforward",
		Description: "a TCP port forwarder (Twisted's portforward)",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			addr := listenFlags(fs, 8080)
			dest := fs.String("dest", "", "host:port to forward connections to (required)")
			return func(loop *reactor.Reactor) (service.Service, error) {
				if _, _, err := net.SplitHostPort(*dest); err != nil {
					return nil, errors.New("portforward: --dest host:port is required")
				}
				return service.TCPServer(loop, addr(), &ForwardFactory{loop: loop, dest: *dest}), nil
			}
		},
	})
}

// ForwardFactory serves each connection by connecting to dest and splicing
// the two connections together.
type ForwardFactory struct {
	loop *reactor.Reactor
	dest string
}

// BuildProtocol returns the forwarding protocol.
func (f *ForwardFactory) BuildProtocol(net.Addr) internet.Protocol {
	return &forwarder{loop: f.loop, dest: f.dest}
}

// forwarder is the server side of a forwarded connection.
type forwarder struct {
	relay
	loop       *reactor.Reactor
	dest       string
	connecting *deferred.Deferred
}

func (f *forwarder) ConnectionMade(t internet.Transport) {
	f.relay.ConnectionMade(t)
	// Read nothing until the other side is there to take it.
	t.PauseProducing()
	f.connecting = connectRelay(f.loop, f.dest, &f.relay, func(err error) {
		slog.Default().Info(fmt.Sprintf("portforward: cannot connect to %s: %v", f.dest, err))
		t.LoseConnection()
	}, func() { t.ResumeProducing() })
}

func (f *forwarder) ConnectionLost(reason error) {
	if f.connecting != nil && !f.connecting.Called() {
		f.connecting.Cancel()
	}
	f.relay.ConnectionLost(reason)
}

// connectRelay connects to dest and, once connected, splices the new
// connection with local and calls connected; failed is called if it cannot
// connect. Cancelling the returned Deferred (the local side went away) stops
// the attempt, or closes the new connection if it has just been made.
func connectRelay(loop *reactor.Reactor, dest string, local *relay, failed func(error), connected func()) *deferred.Deferred {
	remote := &relay{}
	d := internet.ConnectProtocol(loop, dest, remote)
	d.AddCallbacks(func(any) (any, error) {
		splice(local, remote)
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
