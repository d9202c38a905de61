package rpc

import (
	"context"

	"github.com/twistgo/twist/rpc/internal/session"
)

// Limits bounds what one peer can make a server hold or do: each size,
// count and depth that a peer controls. A zero field means its default.
// One Limits serves both protocols: the framed one (Server.Factory) and
// the MongoDB wire protocol (package mongowire) built on the same Server.
type Limits struct {
	// MaxMessage is the longest framed message accepted, in bytes of its
	// body (DefaultMaxMessageSize, 16 MiB). A longer one is answered
	// TooLarge and closes the connection.
	MaxMessage int
	// MaxWireMessage is the longest MongoDB wire-protocol message
	// accepted, header included, and the maxMessageSizeBytes advertised
	// (DefaultMaxWireMessage, 48 MB, MongoDB's own). A longer one closes
	// the connection.
	MaxWireMessage int
	// MaxDepth is how deeply documents and arrays may nest in a call
	// (DefaultMaxDepth, 100, MongoDB's own limit). It is checked on every
	// value before it is decoded, without recursion; a deeper call is
	// answered BadArguments.
	MaxDepth int
	// MaxPending is how many calls a connection may have outstanding
	// (DefaultMaxPending, 1024), on every path of both protocols: calls
	// whose result is awaited, one-way calls still running, and answers
	// held back for an earlier one. At the cap the connection takes no
	// call until one finishes; it reads on, up to 64 KiB, so that a peer
	// that closes meanwhile is noticed and its calls cancelled.
	MaxPending int
	// MaxOutput bounds the bytes of answers a connection holds for its
	// peer (DefaultMaxOutput, 64 MiB): answers held back behind an earlier
	// call without an id, and answers written while the transport's queue
	// is past its high-water mark (the peer does not read). At the cap of
	// held answers the connection takes no call; past either bound it is
	// closed, with a logged reason.
	MaxOutput int
}

// Defaults of the Limits fields.
const (
	// DefaultMaxWireMessage is the default Limits.MaxWireMessage.
	DefaultMaxWireMessage = 48_000_000
	// DefaultMaxOutput is the default Limits.MaxOutput.
	DefaultMaxOutput = 64 << 20
)

// DefaultLimits returns the limits a server has unless told otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxMessage:     DefaultMaxMessageSize,
		MaxWireMessage: DefaultMaxWireMessage,
		MaxDepth:       DefaultMaxDepth,
		MaxPending:     DefaultMaxPending,
		MaxOutput:      DefaultMaxOutput,
	}
}

// withDefaults returns l with each zero or negative field set to its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, def *int }{
		{&l.MaxMessage, &d.MaxMessage},
		{&l.MaxWireMessage, &d.MaxWireMessage},
		{&l.MaxDepth, &d.MaxDepth},
		{&l.MaxPending, &d.MaxPending},
		{&l.MaxOutput, &d.MaxOutput},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// WithLimits sets the server's limits; zero fields keep their defaults.
// Options given after it that set one limit (WithMaxMessageSize and the
// like) override that field.
func WithLimits(l Limits) ServerOption {
	return func(s *Server) { s.limits = l.withDefaults() }
}

// Limits returns the server's limits, every field set.
func (s *Server) Limits() Limits { return s.limits }

// Drain shuts the server's connections down gracefully, on both protocols:
// each stops reading (it takes no new call), answers every call in
// flight, and then closes. The returned channel is closed once every
// connection is closed. If ctx is done first, the connections left are
// closed at once and their pending calls cancelled (their handlers'
// contexts are done); the channel is then closed once they are gone.
//
// Drain does not stop listening: stop the listeners first, so that no
// connection comes in meanwhile (one that does is drained at once). It may
// be called from any goroutine; calling it again returns the same channel.
// Connections on a loop are told on their loop, those without one (fake
// transports in tests) on the caller's goroutine.
func (s *Server) Drain(ctx context.Context) <-chan struct{} { return s.group.Drain(ctx) }

// groupOf gives package mongowire the connection group of a Server, so
// that Drain drains its connections too.
func groupOf(d any) *session.Group {
	if s, ok := d.(*Server); ok {
		return &s.group
	}
	return nil
}

func init() { session.GroupOf = groupOf }
