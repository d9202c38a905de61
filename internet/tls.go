package internet

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twistgo/twist/reactor"
)

// TLS over a transport is Twisted's TLSMemoryBIOProtocol built on crypto/tls:
// a tlsLayer is the lower transport's protocol (it gets ciphertext) and the
// upper protocol's transport (it takes plaintext). crypto/tls only speaks
// over a blocking net.Conn, so each connection has one goroutine that runs
// its tls.Conn over an in-memory net.Conn (tlsAdapter): ciphertext from the
// loop is fed to the adapter's read side, and what tls.Conn writes to the
// adapter, and the plaintext it decrypts, wait in bounded buffers for the
// loop, which a call posted with CallFromThread collects. Every protocol
// callback runs on the loop.
//
// After the handshake the adapter's reads never block: with no ciphertext
// they return a temporary error (crypto/tls keeps a partial record and goes
// on after it), so the goroutine waits in one place, waitWork, for
// ciphertext to decrypt or plaintext to encrypt, and never sits in a read
// while it has something to write.
//
// What a connection costs: the goroutine (its stack starts at 8 KiB and
// grows with the handshake's cryptography), tls.Conn's record buffers (up to
// a record, 16 KiB, each way once data flowed), and the bounded buffers
// below, empty while the connection is idle; the read buffer is pooled.

// Buffer bounds. Past them: the lower transport's reads are paused
// (ciphertext in), the goroutine stops reading (plaintext in) or stops
// encrypting (ciphertext out, then the upper producer is paused).
const (
	tlsCipherInHigh  = 64 << 10 // pause the lower transport's reads above this
	tlsCipherInLow   = 16 << 10 // and resume them below this
	tlsPlainInMax    = 64 << 10 // decrypted data waiting for the loop
	tlsCipherOutMax  = 64 << 10 // encrypted data waiting for the loop
	tlsPlainOutHigh  = 64 << 10 // pause the upper producer above this
	tlsPlainOutLimit = 64 << 20 // with no producer, close with ErrOutputLimit past this
	tlsRecordMax     = 16 << 10 // plaintext encrypted per tls.Conn.Write
	tlsReadChunk     = 16 << 10 // plaintext decrypted per tls.Conn.Read: a record
)

var (
	// errTLSNoLoop is the reason a TLS layer fails over a transport that
	// does not say which loop it runs on.
	errTLSNoLoop = errors.New("internet: TLS needs a transport that implements Looper")
	// errTLSWouldBlock ends a read that found no ciphertext. It is a
	// temporary net.Error: crypto/tls keeps the connection usable after it.
	errTLSWouldBlock = &tlsWouldBlockError{}
	// The goroutine's ends that are not errors of the connection.
	errTLSClosedLocally = errors.New("internet: TLS close_notify sent")
	errTLSClosedByPeer  = errors.New("internet: TLS close_notify received")
	errTLSStopped       = errors.New("internet: TLS connection aborted")
	// ErrTLSTruncated is wrapped in the reason given to ConnectionLost when
	// the connection under TLS closed without the peer's close_notify: the
	// data may have been cut short by an attacker or a crash.
	ErrTLSTruncated = errors.New("internet: TLS connection closed without close_notify")
)

type tlsWouldBlockError struct{}

func (*tlsWouldBlockError) Error() string   { return "internet: no TLS ciphertext to read" }
func (*tlsWouldBlockError) Timeout() bool   { return true }
func (*tlsWouldBlockError) Temporary() bool { return true }

// tlsReadBuffers holds the goroutines' read buffers, so that an idle
// connection holds none.
var tlsReadBuffers = sync.Pool{New: func() any { return new([tlsReadChunk]byte) }}

// TLSTransport is the transport a TLS connection gives its protocol. A
// *Conn has its methods too, for StartTLS: its ConnectionState is the zero
// one until a handshake it started is done, so HandshakeComplete, not the
// type, tells whether a connection is secure.
type TLSTransport interface {
	Transport
	// ConnectionState returns the state of the TLS connection, as of the
	// end of its handshake.
	ConnectionState() tls.ConnectionState
}

// tlsPipe is what the loop and the goroutine share, under mu.
type tlsPipe struct {
	mu   sync.Mutex
	cond sync.Cond // the goroutine waits on it

	cipherIn    bytes.Buffer // ciphertext from the lower transport
	lowerPaused bool         // the lower's reads are paused: cipherIn is full
	lowerEOF    bool         // the lower connection is gone
	sawEOF      bool         // the adapter reported the lower's end
	aborted     bool
	shutdown    bool   // send close_notify once plainOut is written
	handshook   bool   // handshake done: reads may be interrupted
	plainOut    []byte // plaintext from the upper protocol
	cipherOut   []byte // ciphertext for the lower transport
	plainIn     []byte // plaintext for the upper protocol
	state       tls.ConnectionState

	// Events for the loop, collected by service.
	notified    bool // a service call is posted
	made        bool // the handshake is done
	resumeLower bool
	outTaken    bool // the goroutine took plainOut
	finished    bool
	finalErr    error
}

// tlsLayer is one TLS connection; see the comment at the top of the file.
// Its fields are the loop's, but for p (locked) and g (the goroutine's).
type tlsLayer struct {
	lower    Transport
	upper    Protocol
	loop     *reactor.Reactor
	conn     *tls.Conn
	p        tlsPipe
	g        tlsGoroutine
	done     chan struct{} // closed when the goroutine ends
	local    net.Addr
	remote   net.Addr
	startErr error

	made          bool // upper.ConnectionMade was called
	upperMade     bool // StartTLS: upper was connected before the layer
	lost          bool // upper.ConnectionLost was called
	goDone        bool // the goroutine's end was collected
	tlsErr        error
	lowerLost     bool
	lowerReason   error
	lowerClosing  bool
	readPaused    bool // the upper paused reading
	writePaused   bool // the lower paused our writes
	disconnecting bool // the upper called LoseConnection
	aborted       bool
	outputErr     error // why the layer closed the connection itself

	producer       Producer
	streaming      bool
	producerPaused bool

	cipherSpare []byte // the loop's spare buffers, swapped with the pipe's
	plainSpare  []byte
}

// tlsGoroutine is the goroutine's own state.
type tlsGoroutine struct {
	out     []byte // plaintext taken from plainOut
	pending []byte // the part of out not yet encrypted
	spare   []byte
	// buffered is set when tls.Conn may hold decrypted data or whole
	// records it has not returned yet: after the handshake, and after a
	// read that returned data.
	buffered bool
}

var (
	_ TLSTransport = (*tlsLayer)(nil)
	_ Looper       = (*tlsLayer)(nil)
)

// newTLSLayer returns a TLS layer for upper over lower; cfg must have a
// certificate for a server and what to verify for a client. The layer does
// nothing until start, which the lower transport's ConnectionMade calls, or
// which StartTLS calls on an open connection: lower may be nil until then.
func newTLSLayer(lower Transport, upper Protocol, cfg *tls.Config, isClient bool) *tlsLayer {
	l := &tlsLayer{lower: lower, upper: upper, done: make(chan struct{})}
	l.p.cond.L = &l.p.mu
	if isClient {
		l.conn = tls.Client(tlsAdapter{l}, cfg)
	} else {
		l.conn = tls.Server(tlsAdapter{l}, cfg)
	}
	return l
}

// start begins the handshake over l.lower, on the lower transport's loop.
func (l *tlsLayer) start() {
	lp, ok := l.lower.(Looper)
	if !ok {
		l.startErr = errTLSNoLoop
		close(l.done)
		l.lower.AbortConnection()
		return
	}
	l.loop = lp.Loop()
	l.local, l.remote = l.lower.LocalAddr(), l.lower.RemoteAddr()
	// The lower transport pauses the layer when its own output queue is
	// full; without it, ciphertext would pile up there.
	_ = l.lower.RegisterProducer(tlsLowerProducer{l}, true)
	go l.run()
}

// ConnectionMade starts the layer over t (the Protocol face, towards the
// lower transport).
func (l *tlsLayer) ConnectionMade(t Transport) {
	l.lower = t
	l.start()
}

// DataReceived feeds ciphertext from the lower transport to the goroutine.
func (l *tlsLayer) DataReceived(data []byte) {
	p := &l.p
	p.mu.Lock()
	if p.aborted {
		p.mu.Unlock()
		return
	}
	p.cipherIn.Write(data)
	pause := !p.lowerPaused && p.cipherIn.Len() > tlsCipherInHigh
	p.lowerPaused = p.lowerPaused || pause
	p.cond.Broadcast()
	p.mu.Unlock()
	if pause {
		l.lower.PauseProducing()
	}
}

// ConnectionLost ends the layer once the lower connection is gone. The
// goroutine is told, and waited for: it no longer needs the loop, and the
// data it decrypts from what it was given is delivered before the upper
// protocol's ConnectionLost.
func (l *tlsLayer) ConnectionLost(reason error) {
	if l.lowerLost {
		return
	}
	l.lowerLost, l.lowerReason = true, reason
	p := &l.p
	p.mu.Lock()
	p.lowerEOF = true
	p.cond.Broadcast()
	p.mu.Unlock()
	<-l.done
	l.readPaused = false
	l.service()
	l.finish()
}

// run is the goroutine: the handshake, then encrypting and decrypting until
// the connection ends. It never calls into the loop but by posting service.
func (l *tlsLayer) run() {
	defer close(l.done)
	err := l.conn.Handshake()
	if err == nil {
		state := l.conn.ConnectionState()
		l.p.mu.Lock()
		l.p.handshook, l.p.made, l.p.state = true, true, state
		l.notifyLocked()
		l.p.mu.Unlock()
		// The handshake's last read may have taken records after it.
		l.g.buffered = true
		err = l.pump()
	}
	l.p.mu.Lock()
	l.p.finished, l.p.finalErr = true, err
	l.notifyLocked()
	l.p.mu.Unlock()
}

type tlsAction uint8

const (
	tlsWrite tlsAction = iota
	tlsRead
	tlsShutdown
	tlsStop
)

// pump encrypts and decrypts until the connection ends, and returns why.
func (l *tlsLayer) pump() error {
	g := &l.g
	for {
		switch l.waitWork() {
		case tlsStop:
			return errTLSStopped
		case tlsShutdown:
			_ = l.conn.CloseWrite()
			return errTLSClosedLocally
		case tlsWrite:
			n := min(len(g.pending), tlsRecordMax)
			if _, err := l.conn.Write(g.pending[:n]); err != nil {
				return err
			}
			g.pending = g.pending[n:]
		case tlsRead:
			buf := tlsReadBuffers.Get().(*[tlsReadChunk]byte)
			n, err := l.conn.Read(buf[:])
			if n > 0 {
				l.p.mu.Lock()
				l.p.plainIn = append(l.p.plainIn, buf[:n]...)
				l.notifyLocked()
				l.p.mu.Unlock()
			}
			tlsReadBuffers.Put(buf)
			g.buffered = n > 0
			switch {
			case err == nil, err == errTLSWouldBlock:
			case err == io.EOF && !l.sawEOF():
				// The peer's close_notify: answer it, as TLS asks.
				_ = l.conn.CloseWrite()
				return errTLSClosedByPeer
			default:
				return err
			}
		}
	}
}

func (l *tlsLayer) sawEOF() bool {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.p.sawEOF
}

// waitWork blocks the goroutine until it has something to do. Once the
// lower connection is gone it only reads, to decrypt what is left, and never
// waits for the loop, which waits for it.
func (l *tlsLayer) waitWork() tlsAction {
	p, g := &l.p, &l.g
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.aborted:
			return tlsStop
		case p.lowerEOF:
			return tlsRead
		}
		if len(p.cipherOut) < tlsCipherOutMax {
			if len(g.pending) == 0 && len(p.plainOut) > 0 {
				if g.out != nil {
					g.spare = g.out[:0]
				}
				g.out, p.plainOut, g.spare = p.plainOut, g.spare, nil
				g.pending = g.out
				p.outTaken = true
				l.notifyLocked()
			}
			if len(g.pending) > 0 {
				return tlsWrite
			}
			if p.shutdown {
				return tlsShutdown
			}
		}
		if len(p.plainIn) < tlsPlainInMax && (p.cipherIn.Len() > 0 || g.buffered) {
			return tlsRead
		}
		p.cond.Wait()
	}
}

// notifyLocked posts a service call to the loop unless one is pending.
func (l *tlsLayer) notifyLocked() {
	if !l.p.notified {
		l.p.notified = true
		l.loop.CallFromThread(l.service)
	}
}

// service runs on the loop: it writes the ciphertext to the lower
// transport and hands events and plaintext to the upper protocol.
func (l *tlsLayer) service() {
	if l.lost {
		return
	}
	p := &l.p
	p.mu.Lock()
	p.notified = false
	finishing := p.finished || l.lowerLost
	var cipher, plain []byte
	if len(p.cipherOut) > 0 && (!l.writePaused || finishing) {
		cipher, p.cipherOut, l.cipherSpare = p.cipherOut, l.cipherSpare, nil
	}
	if len(p.plainIn) > 0 && !l.readPaused {
		plain, p.plainIn, l.plainSpare = p.plainIn, l.plainSpare, nil
	}
	made, resume, taken := p.made, p.resumeLower, p.outTaken
	p.made, p.resumeLower, p.outTaken = false, false, false
	queued := len(p.plainOut)
	finished := p.finished && len(p.plainIn) == 0 && !l.goDone
	finalErr := p.finalErr
	p.cond.Broadcast()
	p.mu.Unlock()

	if cipher != nil {
		if !l.lowerLost {
			_, _ = l.lower.Write(cipher)
		}
		l.cipherSpare = cipher[:0]
	}
	if resume && !l.lowerLost {
		l.lower.ResumeProducing()
	}
	if made && !l.aborted {
		l.made = true
		if !l.upperMade {
			l.upper.ConnectionMade(l)
		}
	}
	if plain != nil {
		if l.made && !l.aborted && !l.lost {
			l.upper.DataReceived(plain)
		}
		l.plainSpare = plain[:0]
	}
	if taken && !l.lost {
		l.outputTaken(queued)
	}
	if finished && !l.lost {
		l.goDone, l.tlsErr = true, finalErr
		if l.lowerLost {
			return // ConnectionLost finishes
		}
		l.closeLower()
	}
}

// kickService runs service on the loop's next turn.
func (l *tlsLayer) kickService() {
	l.p.mu.Lock()
	l.notifyLocked()
	l.p.mu.Unlock()
}

// closeLower closes the lower transport once the TLS connection is over:
// after close_notify, or the alert of a TLS error, has been queued.
func (l *tlsLayer) closeLower() {
	if l.lowerClosing || l.lowerLost {
		return
	}
	l.lowerClosing = true
	l.lower.UnregisterProducer()
	l.lower.LoseConnection()
}

// finish tells the upper protocol, once, that the connection is gone.
func (l *tlsLayer) finish() {
	if l.lost {
		return
	}
	if !l.goDone {
		l.goDone, l.tlsErr = true, l.p.finalErr
	}
	l.lost = true
	if l.producer != nil {
		l.producer.StopProducing()
		l.producer = nil
	}
	l.upper.ConnectionLost(l.reason())
}

// reason is why the connection ended, as the upper protocol is told: what
// the TLS connection reported if it failed, and otherwise what the lower
// transport reported, as in Twisted.
func (l *tlsLayer) reason() error {
	switch err := l.tlsErr; {
	case l.startErr != nil:
		return fmt.Errorf("%w: %w", ErrConnectionLost, l.startErr)
	case l.outputErr != nil:
		return l.outputErr
	case err == nil, err == errTLSClosedLocally, err == errTLSClosedByPeer, err == errTLSStopped:
		return l.lowerReason
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		// The lower connection ended under TLS.
		if l.disconnecting || l.aborted || !errors.Is(l.lowerReason, ErrConnectionDone) {
			return l.lowerReason
		}
		return fmt.Errorf("%w: %w", ErrConnectionLost, ErrTLSTruncated)
	default:
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
}

// Loop returns the loop that owns the connection.
func (l *tlsLayer) Loop() *reactor.Reactor { return l.loop }

// Write encrypts b and sends it, after the handshake. b is copied.
func (l *tlsLayer) Write(b []byte) (int, error) {
	if err := l.WriteSequence([][]byte{b}); err != nil {
		return 0, err
	}
	return len(b), nil
}

// WriteSequence writes the buffers in order.
func (l *tlsLayer) WriteSequence(bufs [][]byte) error {
	if l.disconnecting || l.aborted || l.lost || l.goDone {
		return ErrConnectionClosed
	}
	p := &l.p
	p.mu.Lock()
	for _, b := range bufs {
		p.plainOut = append(p.plainOut, b...)
	}
	queued := len(p.plainOut)
	p.cond.Broadcast()
	p.mu.Unlock()
	switch {
	case l.producer == nil && queued > tlsPlainOutLimit:
		l.outputErr = ErrOutputLimit
		l.AbortConnection()
	case l.producer != nil && l.streaming && !l.producerPaused && queued > tlsPlainOutHigh:
		l.producerPaused = true
		l.producer.(PushProducer).PauseProducing()
	}
	return nil
}

// outputTaken is called when the goroutine took the queued plaintext,
// leaving queued bytes: producers are asked for more.
func (l *tlsLayer) outputTaken(queued int) {
	switch {
	case l.producer == nil:
	case l.streaming && l.producerPaused && queued < tlsPlainOutHigh/2:
		l.producerPaused = false
		l.producer.(PushProducer).ResumeProducing()
	case !l.streaming && queued == 0:
		l.producer.(PullProducer).ResumeProducing()
	}
}

// LoseConnection sends close_notify once the queued plaintext is encrypted
// and the producer, if any, is unregistered, then closes the lower
// transport. The other side's close_notify is not waited for.
func (l *tlsLayer) LoseConnection() {
	if l.disconnecting || l.aborted || l.lost {
		return
	}
	l.disconnecting = true
	if l.producer == nil {
		l.shutdownTLS()
	}
}

func (l *tlsLayer) shutdownTLS() {
	l.p.mu.Lock()
	l.p.shutdown = true
	l.p.cond.Broadcast()
	l.p.mu.Unlock()
}

// AbortConnection drops the queued data and closes the lower transport at
// once, without close_notify.
func (l *tlsLayer) AbortConnection() {
	if l.aborted || l.lost {
		return
	}
	l.aborted = true
	l.p.mu.Lock()
	l.p.aborted = true
	l.p.cond.Broadcast()
	l.p.mu.Unlock()
	if !l.lowerLost {
		l.lower.AbortConnection()
	}
}

// LocalAddr returns the lower transport's local address.
func (l *tlsLayer) LocalAddr() net.Addr { return l.local }

// RemoteAddr returns the lower transport's peer address.
func (l *tlsLayer) RemoteAddr() net.Addr { return l.remote }

// ConnectionState returns the TLS state as of the end of the handshake.
func (l *tlsLayer) ConnectionState() tls.ConnectionState {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.p.state
}

// PauseProducing stops DataReceived calls until ResumeProducing. The
// goroutine stops decrypting once its buffer is full, and then the lower
// transport is paused.
func (l *tlsLayer) PauseProducing() { l.readPaused = true }

// ResumeProducing resumes DataReceived calls.
func (l *tlsLayer) ResumeProducing() {
	if l.readPaused {
		l.readPaused = false
		l.kickService()
	}
}

// StopProducing closes the connection, as Twisted's transports do.
func (l *tlsLayer) StopProducing() { l.LoseConnection() }

// RegisterProducer makes p the source of the upper protocol's output.
func (l *tlsLayer) RegisterProducer(p Producer, streaming bool) error {
	if l.producer != nil {
		return ErrProducerRegistered
	}
	if streaming {
		if _, ok := p.(PushProducer); !ok {
			return fmt.Errorf("internet: a streaming producer must be a PushProducer, not %T", p)
		}
	} else if _, ok := p.(PullProducer); !ok {
		return fmt.Errorf("internet: a non-streaming producer must be a PullProducer, not %T", p)
	}
	l.producer, l.streaming, l.producerPaused = p, streaming, false
	if !streaming {
		p.(PullProducer).ResumeProducing()
	}
	return nil
}

// UnregisterProducer removes the producer, and lets a pending
// LoseConnection proceed.
func (l *tlsLayer) UnregisterProducer() {
	l.producer = nil
	if l.disconnecting && !l.lost {
		l.shutdownTLS()
	}
}

// tlsLowerProducer is how the lower transport pauses the layer's writes.
type tlsLowerProducer struct{ l *tlsLayer }

func (p tlsLowerProducer) PauseProducing() { p.l.writePaused = true }

func (p tlsLowerProducer) ResumeProducing() {
	if p.l.writePaused {
		p.l.writePaused = false
		p.l.kickService()
	}
}

// StopProducing does nothing: ConnectionLost follows.
func (p tlsLowerProducer) StopProducing() {}

// tlsAdapter is the net.Conn that tls.Conn speaks over, used only by the
// goroutine: reads take the ciphertext the loop fed in, writes leave
// ciphertext for the loop.
type tlsAdapter struct{ l *tlsLayer }

func (a tlsAdapter) Read(b []byte) (int, error) {
	p := &a.l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.aborted:
			return 0, net.ErrClosed
		case p.cipherIn.Len() > 0:
			n, _ := p.cipherIn.Read(b)
			if p.lowerPaused && p.cipherIn.Len() < tlsCipherInLow {
				p.lowerPaused = false
				p.resumeLower = true
				a.l.notifyLocked()
			}
			return n, nil
		case p.lowerEOF:
			p.sawEOF = true
			return 0, io.EOF
		case p.handshook:
			return 0, errTLSWouldBlock
		}
		p.cond.Wait()
	}
}

// Write never blocks: the goroutine encrypts only while the ciphertext
// waiting for the loop is under its bound, so that it can go on reading
// while the lower transport is slow.
func (a tlsAdapter) Write(b []byte) (int, error) {
	p := &a.l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.aborted || p.lowerEOF {
		return 0, net.ErrClosed
	}
	p.cipherOut = append(p.cipherOut, b...)
	a.l.notifyLocked()
	return len(b), nil
}

func (a tlsAdapter) Close() error                     { return nil }
func (a tlsAdapter) LocalAddr() net.Addr              { return a.l.local }
func (a tlsAdapter) RemoteAddr() net.Addr             { return a.l.remote }
func (a tlsAdapter) SetDeadline(time.Time) error      { return nil }
func (a tlsAdapter) SetReadDeadline(time.Time) error  { return nil }
func (a tlsAdapter) SetWriteDeadline(time.Time) error { return nil }

// TLSFactory wraps f so that each protocol it builds speaks TLS over its
// connection: Twisted's TLSMemoryBIOFactory. isClient chooses the side of
// the handshake; cfg must hold a certificate for a server, and for a client
// the name to verify (ServerName) unless ConnectTLS sets it. TLS 1.3 is used
// when the peer has it, and nothing older than TLS 1.2 is accepted. The
// protocol's ConnectionMade is called once the handshake has succeeded; if
// it fails, only ConnectionLost is called, with the TLS error.
//
// Each connection costs a goroutine for its life (a stack of 8 KiB or more,
// grown by the handshake and shrunk back by the garbage collector) and
// crypto/tls's state and record buffers (up to 16 KiB each way while data
// flows), besides its transport; the buffers between the goroutine and the
// loop are bounded (64 KiB each way) and empty while the connection is idle.
// BenchmarkTLSIdleConnectionMemory measures about 20 KiB per idle
// connection after a handshake with an ECDSA P-256 certificate: 8 KiB of
// stack and 12 KiB of heap, the peer's parsed certificate included.
func TLSFactory(cfg *tls.Config, f Factory, isClient bool) Factory {
	return &tlsFactory{cfg: tlsMinVersion(cfg), f: f, isClient: isClient}
}

// tlsMinVersion returns cfg, or a copy of it that refuses TLS before 1.2.
func tlsMinVersion(cfg *tls.Config) *tls.Config {
	if cfg.MinVersion >= tls.VersionTLS12 {
		return cfg
	}
	cfg = cfg.Clone()
	cfg.MinVersion = tls.VersionTLS12
	return cfg
}

type tlsFactory struct {
	cfg      *tls.Config
	f        Factory
	isClient bool
}

// BuildProtocol builds the wrapped factory's protocol and puts it over TLS.
func (t *tlsFactory) BuildProtocol(addr net.Addr) Protocol {
	upper := t.f.BuildProtocol(addr)
	if upper == nil {
		return nil
	}
	return newTLSLayer(nil, upper, t.cfg, t.isClient)
}

// StartFactory starts the wrapped factory if it is a Starter.
func (t *tlsFactory) StartFactory() {
	if s, ok := t.f.(Starter); ok {
		s.StartFactory()
	}
}

// StopFactory stops the wrapped factory if it is a Starter.
func (t *tlsFactory) StopFactory() {
	if s, ok := t.f.(Starter); ok {
		s.StopFactory()
	}
}

// TLSClientFactory wraps a client factory as TLSFactory wraps a factory:
// the protocols it builds speak TLS as clients, and the connector's reports
// (ClientConnectionFailed, ClientConnectionLost, StartedConnecting) go to f.
func TLSClientFactory(cfg *tls.Config, f ClientFactory) ClientFactory {
	return &tlsClientFactory{tlsFactory{cfg: tlsMinVersion(cfg), f: f, isClient: true}, f}
}

type tlsClientFactory struct {
	tlsFactory
	client ClientFactory
}

// ClientConnectionFailed tells the wrapped factory.
func (t *tlsClientFactory) ClientConnectionFailed(c Connector, reason error) {
	t.client.ClientConnectionFailed(c, reason)
}

// ClientConnectionLost tells the wrapped factory.
func (t *tlsClientFactory) ClientConnectionLost(c Connector, reason error) {
	t.client.ClientConnectionLost(c, reason)
}

// StartedConnecting tells the wrapped factory if it wants to know.
func (t *tlsClientFactory) StartedConnecting(c Connector) {
	if s, ok := t.client.(ConnectingStarter); ok {
		s.StartedConnecting(c)
	}
}

// ListenTLS listens for TCP connections on addr as ListenTCP does, and
// serves each over TLS with cfg (which must hold the server's certificate)
// with a protocol from f: Twisted's listenSSL. See TLSFactory.
func ListenTLS(loop *reactor.Reactor, addr string, cfg *tls.Config, f Factory, opts ...ListenOption) (*Port, error) {
	return ListenTCP(loop, addr, TLSFactory(cfg, f, false), opts...)
}

// ConnectTLS connects to addr over TCP as ConnectTCP does, and speaks TLS
// over the connection as a client: Twisted's connectSSL. If cfg has no
// ServerName, the host of addr is the name the server's certificate is
// verified against, as with tls.Dial. See TLSFactory.
func ConnectTLS(loop *reactor.Reactor, addr string, cfg *tls.Config, f ClientFactory, opts ...ConnectOption) *StreamConnector {
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	return ConnectTCP(loop, addr, TLSClientFactory(cfg, f), opts...)
}
