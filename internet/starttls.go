package internet

import (
	"crypto/tls"
	"errors"
	"net"

	"github.com/twistgo/twist/reactor"
)

// ErrTLSStarted is returned by StartTLS on a connection that speaks TLS
// already.
var ErrTLSStarted = errors.New("internet: TLS is already started")

// TLSStarter is implemented by transports that can start TLS on an open
// connection (Twisted's ITLSTransport), such as *Conn: a protocol that
// negotiates it in the clear, as STARTTLS does, calls
// t.(TLSStarter).StartTLS on its transport.
type TLSStarter interface {
	// StartTLS starts the TLS handshake, as a client or a server, on the
	// connection.
	StartTLS(cfg *tls.Config, isClient bool) error
}

var (
	_ TLSStarter   = (*Conn)(nil)
	_ TLSTransport = (*Conn)(nil)
	_ Transport    = rawConn{}
	_ Looper       = rawConn{}
)

// StartTLS puts TLS between the socket and the protocol, which keeps c as
// its transport (Twisted's ITLSTransport.startTLS): the handshake starts at
// once, as a client or a server, with cfg, which must hold a certificate for
// a server and what to verify (ServerName) for a client; nothing older than
// TLS 1.2 is accepted. Output queued before the call goes out in the clear
// ahead of the handshake; what the protocol writes after it is encrypted,
// and sent once the handshake is done. The protocol gets no second
// ConnectionMade: ConnectionState tells when the handshake is done, and if
// it fails the protocol's ConnectionLost gets the TLS error. A producer
// registered on c, and a pause of c's reading, carry over to the TLS layer.
//
// StartTLS returns ErrTLSStarted on a second call and ErrConnectionClosed
// once the connection is closing, changing nothing. If the registered
// producer is not of the kind its streaming flag says, TLS starts but the
// layer refuses the producer: it is stopped and the error returned.
//
// Bytes that arrived after the peer's last cleartext message, in the same
// read, are the protocol's: start TLS when the peer waits for an answer, as
// STARTTLS protocols do. The layer costs what a TLSFactory connection's
// does: a goroutine from the handshake pool during the handshake, then
// crypto/tls's state.
func (c *Conn) StartTLS(cfg *tls.Config, isClient bool) error {
	if c.state&stTLS != 0 {
		return ErrTLSStarted
	}
	if c.state&(stDisconnecting|stWriteClosing|stDead|stClosed) != 0 {
		return ErrConnectionClosed
	}
	// The upper protocol's producer and read pause move to the layer; the
	// socket's producer becomes the layer itself (l.start), and the socket is
	// read for the handshake whatever the protocol paused.
	x := c.extra()
	producer, streaming := x.producer, c.state&stStreaming != 0
	producerPaused, readPaused := c.state&stProducerPaused != 0, c.state&stReadPaused != 0
	if producer != nil {
		c.unregisterProducer()
	}
	if readPaused {
		c.resumeReading()
	}

	l := newTLSLayer(rawConn{c}, c.proto, tlsMinVersion(cfg), isClient)
	l.upperMade, l.readPaused = true, readPaused
	x.tls, c.proto = l, l
	c.state |= stTLS
	l.start()
	if producer != nil {
		if err := l.RegisterProducer(producer, streaming); err != nil {
			// c took it without checking its kind: stop it, as a closing
			// transport would.
			producer.StopProducing()
			return err
		}
		if producerPaused {
			// The layer pauses it again when its own buffer is full.
			producer.(PushProducer).ResumeProducing()
		}
	}
	return nil
}

// ConnectionState returns the TLS state after StartTLS, as of the end of its
// handshake; before StartTLS, or before the handshake is done, it is the
// zero ConnectionState (HandshakeComplete false).
func (c *Conn) ConnectionState() tls.ConnectionState {
	if c.state&stTLS == 0 {
		return tls.ConnectionState{}
	}
	return c.x.tls.ConnectionState()
}

// rawConn is the transport under a TLS layer started by StartTLS: the socket
// itself, bypassing the routing of Conn's methods to the layer (Twisted's
// _BypassTLS).
type rawConn struct{ c *Conn }

func (r rawConn) Loop() *reactor.Reactor                    { return r.c.loop }
func (r rawConn) Write(b []byte) (int, error)               { return r.c.write(b) }
func (r rawConn) WriteSequence(bufs [][]byte) error         { return r.c.writeSequence(bufs) }
func (r rawConn) LoseConnection()                           { r.c.loseConnection() }
func (r rawConn) AbortConnection()                          { r.c.abort() }
func (r rawConn) LocalAddr() net.Addr                       { return r.c.LocalAddr() }
func (r rawConn) RemoteAddr() net.Addr                      { return r.c.remote }
func (r rawConn) PauseProducing()                           { r.c.pauseReading() }
func (r rawConn) ResumeProducing()                          { r.c.resumeReading() }
func (r rawConn) StopProducing()                            { r.c.loseConnection() }
func (r rawConn) UnregisterProducer()                       { r.c.unregisterProducer() }
func (r rawConn) RegisterProducer(p Producer, s bool) error { return r.c.registerProducer(p, s) }
