package internet

import (
	"errors"
	"log/slog"
	"net"

	"github.com/twistgo/twist/reactor"
)

// Default flow-control limits of a connection's output queue.
const (
	// DefaultHighWater is the queued output above which a streaming
	// producer is paused: Twisted's FileDescriptor.bufferSize.
	DefaultHighWater = 64 << 10
	// DefaultLowWater is the queued output at or below which a paused
	// streaming producer is resumed. Resuming before the queue is empty
	// (Twisted waits for empty) keeps the socket busy meanwhile.
	DefaultLowWater = 16 << 10
	// DefaultOutputLimit is the queued output past which a connection is
	// closed with ErrOutputLimit: the bound that keeps a peer that does
	// not read from growing the queue without end.
	DefaultOutputLimit = 16 << 20
)

// ErrConnectionAborted is the reason, with ErrConnectionLost, given to
// ConnectionLost after AbortConnection (Twisted's ConnectionAborted).
var ErrConnectionAborted = errors.New("internet: connection was aborted")

// chunkSize is the size of the queue's buffers for small writes, so that a
// burst of small writes against a full socket costs few allocations.
const chunkSize = 16 << 10

// limits are a connection's flow-control limits.
type limits struct {
	high, low, hard int
}

// connShared is what all the connections of a listener or connector share.
type connShared struct {
	limits
	// local is every connection's local address when the listener is
	// bound to one address (not a wildcard): a lookup and an address less
	// per connection.
	local net.Addr
	// counts are the listener's counters, or the client connections'
	// (stats.go).
	counts *connCounts
}

var defaultLimits = limits{high: DefaultHighWater, low: DefaultLowWater, hard: DefaultOutputLimit}

// Connection states, a bit set.
const (
	stReadPaused     uint16 = 1 << iota // the transport, as a producer, was paused
	stReadShut                          // end of stream read by a half-closeable protocol
	stWriteClosing                      // LoseWriteConnection: shut down writing when flushed
	stWriteShut                         // writing shut down
	stDisconnecting                     // LoseConnection: close when flushed
	stDead                              // closing at the next turn: no more I/O
	stClosed                            // closed; ConnectionLost has been called
	stStreaming                         // the registered producer is a push producer
	stProducerPaused                    // we paused the registered producer
	stTLS                               // StartTLS: x.tls is the protocol's transport
)

// Conn is a TCP or Unix stream connection driven by a reactor loop: the
// Transport its protocol writes to, and the reactor.FileDescriptor the
// loop calls when the socket is ready (Twisted's tcp.Connection). It has
// no goroutine and no buffer of its own while idle: reads go into the
// loop's shared buffer, and writes go straight to the socket, only the part
// the socket does not take being queued. StartTLS puts a TLS layer between the
// socket and the protocol.
//
// Its methods must be called on its loop.
type Conn struct {
	// What every connection needs is here, in 64 bytes; the rest is in
	// x, allocated only when a write is queued, a producer registers, a
	// local address is looked up or a connector watches the connection.
	loop   *reactor.Reactor
	proto  Protocol
	shared *connShared
	remote net.Addr
	x      *connExtra
	fd     int32
	state  uint16
}

// connExtra is the part of a Conn that an idle or echoing connection does
// not need.
type connExtra struct {
	producer Producer
	out      outQueue
	local    net.Addr // cached by LocalAddr
	// lost is told of the end of a client connection (its Connector).
	lost func(reason error)
	// tls is the layer StartTLS put between the socket and the protocol.
	tls *tlsLayer
}

// newConn wraps the connected socket fd. The caller starts it.
func newConn(loop *reactor.Reactor, fd int, remote net.Addr, shared *connShared) *Conn {
	return &Conn{fd: int32(fd), loop: loop, remote: remote, shared: shared}
}

// extra returns the rarely used part of c, allocating it on first use.
func (c *Conn) extra() *connExtra {
	if c.x == nil {
		c.x = new(connExtra)
	}
	return c.x
}

// queued returns the number of bytes waiting in the output queue.
func (c *Conn) queued() int {
	if c.x == nil {
		return 0
	}
	return c.x.out.size
}

// producer returns the registered producer, or nil.
func (c *Conn) producer() Producer {
	if c.x == nil {
		return nil
	}
	return c.x.producer
}

// start makes p the connection's protocol, starts reading and calls
// ConnectionMade (Twisted's makeConnection).
func (c *Conn) start(p Protocol) {
	c.proto = p
	if err := c.loop.AddReader(c); err != nil {
		c.proto.ConnectionMade(c)
		c.closeLater(lost(err), false)
		return
	}
	p.ConnectionMade(c)
}

// Fd returns the socket's descriptor.
func (c *Conn) Fd() int { return int(c.fd) }

// Loop returns the loop that owns the connection.
func (c *Conn) Loop() *reactor.Reactor { return c.loop }

// Protocol returns the connection's protocol; after StartTLS, still the
// protocol it was started with, not the TLS layer under it.
func (c *Conn) Protocol() Protocol {
	if c.state&stTLS != 0 {
		return c.x.tls.upper
	}
	return c.proto
}

// LocalAddr returns the socket's local address, a *net.TCPAddr or a
// *net.UnixAddr. The connections of a port bound to a wildcard address
// (0.0.0.0, ::) look theirs up on the first call, and have none if that
// comes after the connection closed.
func (c *Conn) LocalAddr() net.Addr {
	if c.shared.local != nil {
		return c.shared.local
	}
	if c.x != nil && c.x.local != nil || c.state&stClosed != 0 {
		return c.extraLocal()
	}
	c.extra().local = sysLocalAddr(c.Fd())
	return c.x.local
}

// extraLocal returns the cached local address, if any.
func (c *Conn) extraLocal() net.Addr {
	if c.x == nil {
		return nil
	}
	return c.x.local
}

// RemoteAddr returns the peer's address, a *net.TCPAddr or a *net.UnixAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetNoDelay turns Nagle's algorithm off (true, the default) or on. See
// Listen and Connect for why it is off by default.
func (c *Conn) SetNoDelay(on bool) error { return sysSetNoDelay(c.Fd(), on) }

// SetKeepAlive turns TCP keep-alive probes on or off.
func (c *Conn) SetKeepAlive(on bool) error { return sysSetKeepAlive(c.Fd(), on) }

// DoRead reads once into the loop's buffer and hands the bytes to the
// protocol; it is called by the loop while the socket is readable.
func (c *Conn) DoRead() {
	buf := c.loop.ReadBuffer()
	n, err := sysRead(c.Fd(), buf)
	switch {
	case n > 0:
		c.countIn(n)
		c.proto.DataReceived(buf[:n])
	case err == nil:
		c.readEOF()
	case !wouldBlock(err):
		c.closeNow(lost(err), true)
	}
}

// readEOF handles the end of the peer's stream: a half-closeable protocol
// is told and may go on writing; any other connection is done.
func (c *Conn) readEOF() {
	hp, ok := c.proto.(HalfCloseableProtocol)
	if !ok {
		c.closeNow(ErrConnectionDone, true)
		return
	}
	c.state |= stReadShut
	_ = c.loop.RemoveReader(c)
	hp.ReadConnectionLost()
}

// DoWrite flushes the queued output; it is called by the loop while the
// socket is writable and the transport is watching for it.
func (c *Conn) DoWrite() {
	if c.state&(stDead|stClosed) != 0 {
		return
	}
	if c.x == nil {
		// Nothing was ever queued or registered: only a close waits.
		_ = c.loop.RemoveWriter(c)
		c.flushed()
		return
	}
	x := c.x
	for !x.out.empty() {
		n, err := sysWritev(c.Fd(), x.out.bufs)
		if err != nil {
			if wouldBlock(err) {
				break
			}
			c.closeNow(lost(err), true)
			return
		}
		c.countOut(n)
		x.out.consume(n)
		if x.out.empty() || n == 0 {
			break
		}
	}
	if c.state&stProducerPaused != 0 && x.out.size <= c.shared.low && x.producer != nil {
		c.state &^= stProducerPaused
		x.producer.(PushProducer).ResumeProducing()
		if c.state&(stDead|stClosed) != 0 {
			return
		}
	}
	if !x.out.empty() {
		return
	}
	_ = c.loop.RemoveWriter(c)
	if x.producer != nil && c.state&stStreaming == 0 {
		// A pull producer is asked for more each time the queue drains.
		x.producer.(PullProducer).ResumeProducing()
		return
	}
	c.flushed()
}

// flushed finishes a pending close or half-close once the output queue is
// empty and no pull producer is waiting for the writable socket.
func (c *Conn) flushed() {
	switch {
	case c.state&stDisconnecting != 0 && c.producer() == nil:
		c.closeNow(ErrConnectionDone, true)
	case c.state&stWriteClosing != 0 && c.state&stWriteShut == 0:
		c.shutdownWrite()
	}
}

// shutdownWrite half-closes the socket once the output is flushed.
func (c *Conn) shutdownWrite() {
	c.state |= stWriteShut
	if err := sysShutdownWrite(c.Fd()); err != nil {
		c.closeNow(lost(err), true)
		return
	}
	if hp, ok := c.proto.(HalfCloseableProtocol); ok {
		hp.WriteConnectionLost()
	}
}

// Write sends b: straight to the socket if nothing is queued, and whatever
// the socket does not take is copied to the queue. It returns
// ErrConnectionClosed after LoseConnection, AbortConnection or
// LoseWriteConnection, and ErrOutputLimit if b would take the queue past
// its hard limit, in which case the connection is being closed. A socket
// error closes the connection on the next turn of the loop, never from
// inside Write. After StartTLS, b is encrypted first.
func (c *Conn) Write(b []byte) (int, error) {
	if c.state&stTLS != 0 {
		return c.x.tls.Write(b)
	}
	return c.write(b)
}

// write is Write to the socket itself.
func (c *Conn) write(b []byte) (int, error) {
	if c.state&(stDisconnecting|stDead|stClosed|stWriteClosing) != 0 {
		return 0, ErrConnectionClosed
	}
	n := 0
	if c.queued() == 0 && len(b) > 0 {
		w, err := sysWrite(c.Fd(), b)
		if err != nil && !wouldBlock(err) {
			err = lost(err)
			c.closeLater(err, true)
			return 0, err
		}
		c.countOut(w)
		n = w
		b = b[w:]
	}
	if len(b) == 0 {
		c.pullMore()
		return n, nil
	}
	if err := c.enqueue(b); err != nil {
		return n, err
	}
	return n + len(b), nil
}

// WriteSequence sends the buffers in order, with one writev when nothing is
// queued; what the socket does not take is queued as by Write.
func (c *Conn) WriteSequence(bufs [][]byte) error {
	if c.state&stTLS != 0 {
		return c.x.tls.WriteSequence(bufs)
	}
	return c.writeSequence(bufs)
}

// writeSequence is WriteSequence to the socket itself.
func (c *Conn) writeSequence(bufs [][]byte) error {
	if c.state&(stDisconnecting|stDead|stClosed|stWriteClosing) != 0 {
		return ErrConnectionClosed
	}
	if c.queued() == 0 {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return nil
		}
		n, err := sysWritev(c.Fd(), bufs)
		if err != nil && !wouldBlock(err) {
			err = lost(err)
			c.closeLater(err, true)
			return err
		}
		c.countOut(n)
		for len(bufs) > 0 && n >= len(bufs[0]) {
			n -= len(bufs[0])
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			c.pullMore()
			return nil
		}
		if err := c.enqueue(bufs[0][n:]); err != nil {
			return err
		}
		bufs = bufs[1:]
	}
	for _, b := range bufs {
		if err := c.enqueue(b); err != nil {
			return err
		}
	}
	return nil
}

// pullMore makes sure that a registered pull producer is asked for more
// once what it wrote has gone out: the loop calls DoWrite when the socket
// is writable.
func (c *Conn) pullMore() {
	if c.producer() != nil && c.state&stStreaming == 0 {
		_ = c.loop.AddWriter(c)
	}
}

// enqueue queues a copy of b, applying the flow-control limits.
func (c *Conn) enqueue(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if c.queued()+len(b) > c.shared.hard {
		slog.Error("internet: queued output passed its limit; closing the connection",
			"remote", c.remote, "limit", c.shared.hard)
		c.closeLater(lost(ErrOutputLimit), false)
		return ErrOutputLimit
	}
	if c.queued() == 0 {
		if err := c.loop.AddWriter(c); err != nil {
			c.closeLater(lost(err), true)
			return err
		}
	}
	x := c.extra()
	x.out.push(b)
	if x.out.size > c.shared.high && c.state&(stStreaming|stProducerPaused) == stStreaming {
		c.state |= stProducerPaused
		x.producer.(PushProducer).PauseProducing()
	}
	return nil
}

// LoseConnection stops reading and closes the connection once the queued
// output is written and any registered producer has unregistered; the
// protocol's ConnectionLost then gets ErrConnectionDone. After StartTLS,
// the TLS close_notify alert is sent first.
func (c *Conn) LoseConnection() {
	if c.state&stTLS != 0 {
		c.x.tls.LoseConnection()
		return
	}
	c.loseConnection()
}

// loseConnection is LoseConnection of the socket itself.
func (c *Conn) loseConnection() {
	if c.state&(stDisconnecting|stDead|stClosed) != 0 {
		return
	}
	c.state |= stDisconnecting
	_ = c.loop.RemoveReader(c)
	c.closeWhenFlushed()
}

// closeWhenFlushed closes a disconnecting connection, never from inside
// the call: on the loop's next turn if nothing is queued and no producer
// is registered, else from DoWrite once that is so. Only our queue is
// waited for: the kernel sends what its buffer holds after the close, and
// waiting for the socket to be writable would wait on a peer that reads
// slowly, or not at all.
func (c *Conn) closeWhenFlushed() {
	if c.queued() == 0 && c.producer() == nil {
		c.closeLater(ErrConnectionDone, true)
		return
	}
	if err := c.loop.AddWriter(c); err != nil {
		c.closeLater(lost(err), true)
	}
}

// LoseWriteConnection half-closes the connection once the queued output is
// written (Twisted's ITCPTransport.loseWriteConnection): the peer reads the
// end of the stream, while this side may go on reading. A
// HalfCloseableProtocol is told with WriteConnectionLost. After StartTLS it
// is LoseConnection: shutting the socket down under TLS would cut the TLS
// connection short.
func (c *Conn) LoseWriteConnection() {
	if c.state&stTLS != 0 {
		c.x.tls.LoseConnection()
		return
	}
	if c.state&(stWriteClosing|stDisconnecting|stDead|stClosed) != 0 {
		return
	}
	c.state |= stWriteClosing
	if err := c.loop.AddWriter(c); err != nil {
		c.closeLater(lost(err), true)
	}
}

// AbortConnection closes the connection at once, dropping the queued
// output, and sends the peer a reset. The protocol's ConnectionLost gets an
// error matching both ErrConnectionLost and ErrConnectionAborted, on the
// next turn of the loop.
func (c *Conn) AbortConnection() {
	if c.state&stTLS != 0 {
		c.x.tls.AbortConnection()
		return
	}
	c.abort()
}

// AbortConnectionWith closes the connection at once, dropping the queued
// output, and the protocol's ConnectionLost gets reason, on the next turn of
// the loop (Twisted's reason returned from dataReceived). Unlike
// AbortConnection it closes the socket in the orderly way: the peer reads
// the end of the stream, not a reset. After StartTLS it is AbortConnection,
// whose error the protocol gets instead of reason.
func (c *Conn) AbortConnectionWith(reason error) {
	if c.state&stTLS != 0 {
		c.x.tls.AbortConnection()
		return
	}
	c.closeLater(reason, true)
}

// abort is AbortConnection of the socket itself.
func (c *Conn) abort() { c.closeLater(lost(ErrConnectionAborted), false) }

// PauseProducing stops reading from the socket: after StartTLS, stops
// DataReceived calls, the socket being read as the TLS layer needs.
func (c *Conn) PauseProducing() {
	if c.state&stTLS != 0 {
		c.x.tls.PauseProducing()
		return
	}
	c.pauseReading()
}

// pauseReading stops reading from the socket itself.
func (c *Conn) pauseReading() {
	c.state |= stReadPaused
	_ = c.loop.RemoveReader(c)
}

// ResumeProducing starts reading again after PauseProducing.
func (c *Conn) ResumeProducing() {
	if c.state&stTLS != 0 {
		c.x.tls.ResumeProducing()
		return
	}
	c.resumeReading()
}

// resumeReading starts reading from the socket itself again.
func (c *Conn) resumeReading() {
	c.state &^= stReadPaused
	if c.state&(stReadShut|stDisconnecting|stDead|stClosed) == 0 {
		if err := c.loop.AddReader(c); err != nil {
			c.closeLater(lost(err), true)
		}
	}
}

// StopProducing closes the connection, as LoseConnection does.
func (c *Conn) StopProducing() { c.LoseConnection() }

// RegisterProducer makes p the source of the connection's output; see
// Transport. A pull producer is asked for data at once. On a closed
// connection p is told StopProducing. After StartTLS, p is the TLS layer's
// producer: it is paused on the plaintext waiting to be encrypted.
func (c *Conn) RegisterProducer(p Producer, streaming bool) error {
	if c.state&stTLS != 0 {
		return c.x.tls.RegisterProducer(p, streaming)
	}
	return c.registerProducer(p, streaming)
}

// registerProducer makes p the producer of the socket itself.
func (c *Conn) registerProducer(p Producer, streaming bool) error {
	if c.producer() != nil {
		return ErrProducerRegistered
	}
	if c.state&(stDead|stClosed) != 0 {
		p.StopProducing()
		return nil
	}
	c.extra().producer = p
	if streaming {
		c.state |= stStreaming
		if c.queued() > c.shared.high {
			c.state |= stProducerPaused
			p.(PushProducer).PauseProducing()
		}
		return nil
	}
	c.state &^= stStreaming
	p.(PullProducer).ResumeProducing()
	return nil
}

// UnregisterProducer removes the registered producer; a connection that
// LoseConnection was waiting on closes once its output is flushed.
func (c *Conn) UnregisterProducer() {
	if c.state&stTLS != 0 {
		c.x.tls.UnregisterProducer()
		return
	}
	c.unregisterProducer()
}

// unregisterProducer removes the producer of the socket itself.
func (c *Conn) unregisterProducer() {
	if c.x != nil {
		c.x.producer = nil
	}
	c.state &^= stStreaming | stProducerPaused
	if c.state&stDisconnecting != 0 && c.state&(stDead|stClosed) == 0 {
		c.closeWhenFlushed()
	}
}

// ConnectionLost is called by the loop when it drops the socket: at
// shutdown, or after a handler panicked. The protocol gets reason wrapped
// with ErrConnectionLost.
func (c *Conn) ConnectionLost(reason error) { c.closeNow(lost(reason), true) }

// closeLater stops all I/O now and closes the connection on the next turn
// of the loop, for closes asked for by code that is inside a call from the
// protocol (Twisted's callLater(0, connectionLost)).
func (c *Conn) closeLater(reason error, orderly bool) {
	if c.state&(stDead|stClosed) != 0 {
		return
	}
	c.state |= stDead
	_ = c.loop.RemoveReader(c)
	_ = c.loop.RemoveWriter(c)
	c.dropQueue()
	c.loop.CallLater(0, func() { c.closeNow(reason, orderly) })
}

// closeNow closes the socket, stops the producer and tells the protocol
// and the connector, once.
func (c *Conn) closeNow(reason error, orderly bool) {
	if c.state&stClosed != 0 {
		return
	}
	c.state = c.state&^stDead | stClosed
	if k := c.shared.counts; k != nil {
		k.open.Add(-1)
	}
	_ = c.loop.RemoveReader(c)
	_ = c.loop.RemoveWriter(c)
	sysClose(c.Fd(), orderly)
	c.dropQueue()
	if p := c.producer(); p != nil {
		c.x.producer = nil
		p.StopProducing()
	}
	c.proto.ConnectionLost(reason)
	if c.x != nil && c.x.lost != nil {
		c.x.lost(reason)
	}
}

// dropQueue discards the queued output.
func (c *Conn) dropQueue() {
	if c.x != nil {
		c.x.out.reset()
	}
}

// outQueue is the output the socket has not taken yet: copies, in buffers
// that small writes share, released as soon as they are written so that an
// idle connection holds none.
type outQueue struct {
	bufs [][]byte // bufs[0] starts at the next byte to send
	size int
	// flushed counts the bytes written from the queue (OutputProgress).
	flushed uint64
}

func (q *outQueue) empty() bool { return q.size == 0 }

// push appends a copy of b.
func (q *outQueue) push(b []byte) {
	q.size += len(b)
	if last := len(q.bufs) - 1; last >= 0 && cap(q.bufs[last])-len(q.bufs[last]) >= len(b) {
		q.bufs[last] = append(q.bufs[last], b...)
		return
	}
	buf := make([]byte, len(b), max(len(b), chunkSize))
	copy(buf, b)
	q.bufs = append(q.bufs, buf)
}

// consume drops the first n bytes, which have been written.
func (q *outQueue) consume(n int) {
	q.size -= n
	q.flushed += uint64(n)
	for n > 0 && n >= len(q.bufs[0]) {
		n -= len(q.bufs[0])
		q.bufs[0] = nil
		q.bufs = q.bufs[1:]
	}
	if n > 0 {
		q.bufs[0] = q.bufs[0][n:]
	}
	if len(q.bufs) == 0 {
		q.bufs = nil
	}
}

func (q *outQueue) reset() { *q = outQueue{} }

// HalfCloseableProtocol is a Protocol that can go on after one direction
// of its connection is shut down (Twisted's IHalfCloseableProtocol).
type HalfCloseableProtocol interface {
	Protocol
	// ReadConnectionLost is called, in place of the connection closing,
	// when the peer has ended its stream; the protocol may go on writing
	// and calls LoseConnection when it is done.
	ReadConnectionLost()
	// WriteConnectionLost is called when the writing half has been shut
	// down after LoseWriteConnection.
	WriteConnectionLost()
}

// causeError is an error of a kind (a sentinel) with its cause, matching
// both with errors.Is.
type causeError struct {
	kind, cause error
}

func (e *causeError) Error() string   { return e.kind.Error() + ": " + e.cause.Error() }
func (e *causeError) Unwrap() []error { return []error{e.kind, e.cause} }

// lost returns the reason for an unclean close caused by err.
func lost(err error) error { return &causeError{ErrConnectionLost, err} }
