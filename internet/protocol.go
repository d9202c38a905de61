package internet

import (
	"errors"
	"net"

	"github.com/twistgo/twist/reactor"
)

// A Protocol turns a connection's bytes into events (Twisted's IProtocol).
// The transport calls its methods on the connection's loop, one at a time.
//
// Embed BaseProtocol to implement only the methods a protocol needs.
type Protocol interface {
	// ConnectionMade is called once the connection is up, with its transport.
	ConnectionMade(t Transport)
	// DataReceived is called with the bytes that arrived. data is valid only
	// during the call: it is the loop's read buffer, reused for the next read.
	DataReceived(data []byte)
	// ConnectionLost is called once when the connection is gone. reason is
	// ErrConnectionDone after a clean close and another error otherwise.
	ConnectionLost(reason error)
}

// BaseProtocol implements Protocol with methods that do nothing but keep the
// transport, for protocols to embed.
type BaseProtocol struct {
	// Transport is the connection's transport, set by ConnectionMade.
	Transport Transport
}

// ConnectionMade records the transport.
func (p *BaseProtocol) ConnectionMade(t Transport) { p.Transport = t }

// DataReceived discards data.
func (p *BaseProtocol) DataReceived(data []byte) {}

// ConnectionLost does nothing.
func (p *BaseProtocol) ConnectionLost(reason error) {}

// A Transport is a connection as its protocol sees it (Twisted's ITransport,
// ITCPTransport and IConsumer). Its methods must be called on the
// connection's loop.
type Transport interface {
	// Write sends b. It writes straight to the socket when the socket takes
	// it, and otherwise queues a copy: b may be reused when Write returns.
	// After LoseConnection or AbortConnection it returns ErrConnectionClosed.
	Write(b []byte) (int, error)
	// WriteSequence sends the buffers in order, as one writev when it can.
	WriteSequence(bufs [][]byte) error
	// LoseConnection closes the connection once the queued output has been
	// written and any registered producer has been unregistered.
	LoseConnection()
	// AbortConnection closes the connection at once, dropping queued output.
	AbortConnection()
	// LocalAddr returns the local address (Twisted's getHost).
	LocalAddr() net.Addr
	// RemoteAddr returns the peer's address (Twisted's getPeer).
	RemoteAddr() net.Addr

	// The transport is a producer of the data it reads: pausing it stops
	// DataReceived calls until it is resumed.
	PushProducer

	// RegisterProducer makes p the source of this transport's output. A
	// streaming (push) producer is paused when the queued output passes the
	// high-water mark and resumed when it drains below the low-water mark; a
	// non-streaming (pull) producer is asked for more with ResumeProducing
	// each time the queue drains. It fails if a producer is registered.
	RegisterProducer(p Producer, streaming bool) error
	// UnregisterProducer removes the registered producer.
	UnregisterProducer()
}

// A ReasonAborter is a Transport that can close at once with a reason of
// the protocol's own: the protocol's ConnectionLost gets that reason. It is
// how a parser that finds bad input stops the connection, as a Twisted
// protocol does by returning a reason from dataReceived. *Conn and
// twisttest's StringTransport implement it.
type ReasonAborter interface {
	// AbortConnectionWith closes the connection at once, dropping the
	// queued output, and gives reason to the protocol's ConnectionLost.
	AbortConnectionWith(reason error)
}

// A Producer writes data into a consumer (Twisted's IProducer).
type Producer interface {
	// StopProducing tells the producer that its consumer is gone.
	StopProducing()
}

// A PushProducer writes whenever it has data, until paused (Twisted's
// IPushProducer).
type PushProducer interface {
	Producer
	// PauseProducing asks the producer to stop writing for now.
	PauseProducing()
	// ResumeProducing asks the producer to write again.
	ResumeProducing()
}

// A PullProducer writes only when asked (Twisted's IPullProducer).
type PullProducer interface {
	Producer
	// ResumeProducing asks the producer for one more piece of data.
	ResumeProducing()
}

var (
	// ErrConnectionDone is the reason given to ConnectionLost after a clean
	// close, by either side (Twisted's ConnectionDone).
	ErrConnectionDone = errors.New("internet: connection was closed cleanly")
	// ErrConnectionLost is the reason after an unclean close (Twisted's
	// ConnectionLost); the error that caused it is wrapped with it.
	ErrConnectionLost = errors.New("internet: connection was lost")
	// ErrConnectionClosed is returned by writes to a closing or closed transport.
	ErrConnectionClosed = errors.New("internet: write to a closed connection")
	// ErrProducerRegistered is returned by RegisterProducer when a producer
	// is registered already.
	ErrProducerRegistered = errors.New("internet: a producer is already registered")
	// ErrOutputLimit is the reason a connection is closed when its queued
	// output passes its hard limit with no producer to pause.
	ErrOutputLimit = errors.New("internet: queued output passed its limit")
)

// A Factory builds a Protocol for each connection (Twisted's Factory).
// A Factory that also has StartFactory and StopFactory methods (the Starter
// interface) gets StartFactory before its first port or connector starts and
// StopFactory after its last one stops, however many there are.
//
// A factory used by a server listening on a loop group is called from each
// of the group's loops: its BuildProtocol must be safe for concurrent use.
type Factory interface {
	// BuildProtocol returns the protocol for a new connection with addr as
	// its peer, or nil to refuse the connection.
	BuildProtocol(addr net.Addr) Protocol
}

// Starter is implemented by factories that hold resources while in use.
type Starter interface {
	StartFactory()
	StopFactory()
}

// LogPrefixer is implemented by factories and protocols that choose how logs
// name them (Twisted's ILoggingContext.logPrefix); logs name the others by
// their type.
type LogPrefixer interface {
	// LogPrefix returns the name to log, such as "PoetryFactory".
	LogPrefix() string
}

// FactoryFunc adapts a function to a Factory.
type FactoryFunc func(addr net.Addr) Protocol

// BuildProtocol calls f(addr).
func (f FactoryFunc) BuildProtocol(addr net.Addr) Protocol { return f(addr) }

// Looper is implemented by transports that run on a reactor loop. Layers
// that hand work to other goroutines (TLS) use it to find the loop to bring
// results back to.
type Looper interface {
	// Loop returns the loop that owns the connection.
	Loop() *reactor.Reactor
}
