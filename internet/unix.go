package internet

import (
	"context"
	"net"

	"github.com/twistgo/twist/reactor"
)

// ListenUnix listens for connections on the Unix socket at path and serves
// each with a protocol from f (Twisted's reactor.listenUNIX). A stale
// socket file, one that no server answers on, is removed first, and
// StopListening removes the file. A path starting with '@' is in Linux's
// abstract namespace and has no file. It must be called on loop, or before
// loop runs.
func ListenUnix(loop *reactor.Reactor, path string, f Factory, opts ...ListenOption) (*Port, error) {
	if path != "" && path[0] != '@' {
		removeStaleSocket(path)
	}
	return listenOn(loop, &net.UnixAddr{Name: path, Net: "unix"}, f, opts)
}

// ListenUnixGroup listens on the Unix socket at path as ListenUnix does,
// and serves the connections on the loops of g: the group's first loop
// accepts and hands each connection to a loop in turn (see GroupPort). It
// may be called from any goroutine, before or after g runs.
func ListenUnixGroup(g *reactor.Group, path string, f Factory, opts ...ListenOption) (*GroupPort, error) {
	if path != "" && path[0] != '@' {
		removeStaleSocket(path)
	}
	return listenGroup(g, &net.UnixAddr{Name: path, Net: "unix"}, f, opts)
}

// ConnectUnix starts connecting to the Unix socket at path and returns the
// connector (Twisted's reactor.connectUNIX); see ConnectTCP.
func ConnectUnix(loop *reactor.Reactor, path string, f ClientFactory, opts ...ConnectOption) *StreamConnector {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	c := newConnector(loop, f, opts, func(context.Context) (net.Addr, error) { return addr, nil })
	c.dest = path
	c.addr = addr
	c.Connect()
	return c
}
