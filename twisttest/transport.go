package twisttest

import (
	"bytes"
	"fmt"
	"net"

	"github.com/twistgo/twist/internet"
)

// ProducerState is the state of a StringTransport in its role as the
// producer of the data it reads (Twisted's producerState).
type ProducerState int

const (
	// Producing is the initial state, and the state after ResumeProducing.
	Producing ProducerState = iota
	// Paused is the state after PauseProducing.
	Paused
	// Stopped is the state after StopProducing; it is final.
	Stopped
)

// String returns Twisted's name for the state: "producing", "paused" or
// "stopped".
func (s ProducerState) String() string {
	switch s {
	case Producing:
		return "producing"
	case Paused:
		return "paused"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("ProducerState(%d)", int(s))
}

// StringTransport is an internet.Transport that keeps what is written to it in
// memory and records the calls made to it, without doing anything else
// (Twisted's StringTransport). Its zero value is ready to use.
//
// Like a real transport, it refuses writes after LoseConnection or
// AbortConnection with internet.ErrConnectionClosed. To catch protocol bugs it
// panics, as Twisted's does, when PauseProducing or ResumeProducing is called
// after StopProducing or (unless Lenient is set) after LoseConnection, and when
// UnregisterProducer is called with no producer registered.
type StringTransport struct {
	// HostAddr is returned by LocalAddr; nil means 10.0.0.1:12345 over TCP.
	HostAddr net.Addr
	// PeerAddr is returned by RemoteAddr; nil means 192.168.1.1:54321 over TCP.
	PeerAddr net.Addr
	// Lenient allows PauseProducing and ResumeProducing after LoseConnection,
	// for tests that do so on purpose.
	Lenient bool

	written       bytes.Buffer
	disconnecting bool
	aborted       bool
	producer      internet.Producer
	streaming     bool
	state         ProducerState
	reason        error
}

var (
	_ internet.Transport     = (*StringTransport)(nil)
	_ internet.ReasonAborter = (*StringTransport)(nil)
)

// Value returns a copy of everything written since the last Clear.
func (t *StringTransport) Value() []byte { return bytes.Clone(t.written.Bytes()) }

// Clear discards what has been written so far.
func (t *StringTransport) Clear() { t.written.Reset() }

// Write records b. It returns internet.ErrConnectionClosed after
// LoseConnection or AbortConnection.
func (t *StringTransport) Write(b []byte) (int, error) {
	if t.disconnecting {
		return 0, internet.ErrConnectionClosed
	}
	return t.written.Write(b)
}

// WriteSequence records the buffers in order. It returns
// internet.ErrConnectionClosed after LoseConnection or AbortConnection.
func (t *StringTransport) WriteSequence(bufs [][]byte) error {
	if t.disconnecting {
		return internet.ErrConnectionClosed
	}
	for _, b := range bufs {
		t.written.Write(b)
	}
	return nil
}

// LoseConnection records that the connection is closing: Disconnecting
// reports true from now on.
func (t *StringTransport) LoseConnection() { t.disconnecting = true }

// AbortConnection records that the connection was aborted: both Aborted and
// Disconnecting report true from now on.
func (t *StringTransport) AbortConnection() {
	t.aborted = true
	t.disconnecting = true
}

// AbortConnectionWith records an abort, as AbortConnection does, and its
// reason, which Reason returns (internet.ReasonAborter).
func (t *StringTransport) AbortConnectionWith(reason error) {
	t.AbortConnection()
	t.reason = reason
}

// Reason returns the reason given to AbortConnectionWith, or nil.
func (t *StringTransport) Reason() error { return t.reason }

// Disconnecting reports whether LoseConnection or AbortConnection has been
// called (Twisted's disconnecting attribute).
func (t *StringTransport) Disconnecting() bool { return t.disconnecting }

// Aborted reports whether AbortConnection has been called.
func (t *StringTransport) Aborted() bool { return t.aborted }

// LocalAddr returns HostAddr, or 10.0.0.1:12345 if it is nil.
func (t *StringTransport) LocalAddr() net.Addr {
	if t.HostAddr != nil {
		return t.HostAddr
	}
	return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 12345}
}

// RemoteAddr returns PeerAddr, or 192.168.1.1:54321 if it is nil.
func (t *StringTransport) RemoteAddr() net.Addr {
	if t.PeerAddr != nil {
		return t.PeerAddr
	}
	return &net.TCPAddr{IP: net.IPv4(192, 168, 1, 1), Port: 54321}
}

// RegisterProducer records p and whether it is streaming. It returns
// internet.ErrProducerRegistered if a producer is registered already.
func (t *StringTransport) RegisterProducer(p internet.Producer, streaming bool) error {
	if t.producer != nil {
		return internet.ErrProducerRegistered
	}
	t.producer, t.streaming = p, streaming
	return nil
}

// UnregisterProducer forgets the registered producer. It panics if there is
// none.
func (t *StringTransport) UnregisterProducer() {
	if t.producer == nil {
		panic("twisttest: UnregisterProducer with no producer registered")
	}
	t.producer, t.streaming = nil, false
}

// Producer returns the registered producer, or nil.
func (t *StringTransport) Producer() internet.Producer { return t.producer }

// Streaming reports whether the registered producer was registered as a
// streaming (push) producer.
func (t *StringTransport) Streaming() bool { return t.streaming }

// ProducerState returns the transport's state as a producer.
func (t *StringTransport) ProducerState() ProducerState { return t.state }

// PauseProducing records that reading is paused.
func (t *StringTransport) PauseProducing() {
	t.checkState("PauseProducing")
	t.state = Paused
}

// ResumeProducing records that reading is resumed.
func (t *StringTransport) ResumeProducing() {
	t.checkState("ResumeProducing")
	t.state = Producing
}

// StopProducing records that reading is stopped for good.
func (t *StringTransport) StopProducing() { t.state = Stopped }

// checkState panics on a pause or resume that a real transport would ignore,
// because a protocol that makes one expects an effect it will not get.
func (t *StringTransport) checkState(method string) {
	if t.disconnecting && !t.Lenient {
		panic("twisttest: " + method + " after LoseConnection")
	}
	if t.state == Stopped {
		panic("twisttest: " + method + " after StopProducing")
	}
}

// StringTransportWithDisconnection is a StringTransport that tells Protocol
// its connection is lost when it is closed (Twisted's
// StringTransportWithDisconnection): LoseConnection calls
// Protocol.ConnectionLost(internet.ErrConnectionDone) and AbortConnection
// calls it with internet.ErrConnectionLost, as a real abort would, and
// AbortConnectionWith with its reason; only the first of them calls it.
type StringTransportWithDisconnection struct {
	StringTransport
	// Protocol is told when the connection is lost; set it before closing.
	Protocol internet.Protocol

	lost bool
}

// LoseConnection records the close and calls
// Protocol.ConnectionLost(internet.ErrConnectionDone) if the connection was
// not lost already.
func (t *StringTransportWithDisconnection) LoseConnection() {
	t.StringTransport.LoseConnection()
	t.connectionLost(internet.ErrConnectionDone)
}

// AbortConnection records the abort and calls
// Protocol.ConnectionLost(internet.ErrConnectionLost) if the connection was
// not lost already.
func (t *StringTransportWithDisconnection) AbortConnection() {
	t.StringTransport.AbortConnection()
	t.connectionLost(internet.ErrConnectionLost)
}

// AbortConnectionWith records the abort and its reason, and calls
// Protocol.ConnectionLost(reason) if the connection was not lost already.
func (t *StringTransportWithDisconnection) AbortConnectionWith(reason error) {
	t.StringTransport.AbortConnectionWith(reason)
	t.connectionLost(reason)
}

func (t *StringTransportWithDisconnection) connectionLost(reason error) {
	if t.lost {
		return
	}
	t.lost = true
	t.Protocol.ConnectionLost(reason)
}
