package internet

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/reactor"
)

// TLS over a transport is Twisted's TLSMemoryBIOProtocol built on an
// unchanged crypto/tls: a tlsLayer is the lower transport's protocol (it
// gets ciphertext) and the upper protocol's transport (it takes plaintext).
// tls.Conn speaks over a net.Conn, tlsAdapter, that the layer feeds.
//
// The handshake runs tls.Conn.Handshake on a goroutine, because crypto/tls
// keeps no handshake state across a failed read: the adapter's reads block
// on the ciphertext the loop passes in, and what the handshake writes is
// posted back to the loop to send. The goroutines come from a bounded pool
// (TLSHandshakeLimits), a server's only once a first whole record has
// arrived, and every handshake has a time-out, so a flood of half-open
// handshakes holds neither unbounded goroutines nor connections for ever.
//
// Once the handshake is done the goroutine is gone and the loop drives the
// tls.Conn itself, with no lock and no hop between goroutines:
//   - DataReceived lends the ciphertext to the adapter and calls Read until
//     the adapter runs dry. Then the adapter's Read returns a temporary
//     net.Error, errTLSWouldBlock: crypto/tls keeps a partial record (and a
//     partial post-handshake message) and returns the error without
//     recording it (readRecordOrCCS sets c.in.err only for errors that are
//     not Temporary), so the next DataReceived goes on where it stopped.
//     NewSessionTicket and KeyUpdate are handled inside Read; the KeyUpdate
//     answer, like the alert of a failed Read, is written through the
//     adapter during the call. A received close_notify ends Read with
//     io.EOF, and a fatal alert with its error.
//   - Write encrypts on the loop: each record goes from tls.Conn's pooled
//     record buffer straight to the lower transport's Write, which sends it
//     now and queues (copies) only what the socket does not take, with the
//     lower transport's own flow control: a producer registered on the
//     layer is registered on the lower transport.
//
// An idle connection holds, besides its transport, this struct and the
// tls.Conn (its state and the capacity of its input buffers, which
// crypto/tls keeps): no goroutine and no buffer of ours.

// Limits and sizes.
const (
	// DefaultTLSHandshakes is the default bound on handshakes in progress
	// at once in the process, each on a goroutine.
	DefaultTLSHandshakes = 256
	// DefaultTLSHandshakeTimeout is the default time a connection has to
	// finish its handshake, its wait for a goroutine included.
	DefaultTLSHandshakeTimeout = 10 * time.Second

	tlsHandshakeInHigh = 64 << 10           // pause the lower's reads above this much unread handshake ciphertext
	tlsPlainOutHigh    = 64 << 10           // before the handshake's end: pause the producer above this
	tlsPlainOutLimit   = DefaultOutputLimit // before the handshake's end, with no producer: ErrOutputLimit past this
	tlsReadChunk       = 16 << 10           // plaintext decrypted per tls.Conn.Read: a record's most
	tlsRecordHeader    = 5                  // bytes in a record's header: type, version, length
	tlsWriteChunk      = 16 << 10           // small buffers of WriteSequence are joined up to this
)

var (
	// errTLSNoLoop is the reason a TLS layer fails over a transport that
	// does not say which loop it runs on.
	errTLSNoLoop = errors.New("internet: TLS needs a transport that implements Looper")
	// errTLSWouldBlock ends a read that found no ciphertext. It is a
	// temporary net.Error: crypto/tls keeps the connection usable after it.
	errTLSWouldBlock = &tlsWouldBlockError{}
	// The TLS connection's ends that are not errors of the connection.
	errTLSClosedLocally = errors.New("internet: TLS close_notify sent")
	errTLSClosedByPeer  = errors.New("internet: TLS close_notify received")
	// ErrTLSTruncated is wrapped in the reason given to ConnectionLost when
	// the connection under TLS closed without the peer's close_notify: the
	// data may have been cut short by an attacker or a crash.
	ErrTLSTruncated = errors.New("internet: TLS connection closed without close_notify")
	// ErrTLSHandshakeTimeout is wrapped in the reason given to
	// ConnectionLost when the handshake did not finish in time.
	ErrTLSHandshakeTimeout = errors.New("internet: TLS handshake timed out")
)

type tlsWouldBlockError struct{}

func (*tlsWouldBlockError) Error() string   { return "internet: no TLS ciphertext to read" }
func (*tlsWouldBlockError) Timeout() bool   { return true }
func (*tlsWouldBlockError) Temporary() bool { return true }

// tlsPlainBuffers are the buffers tls.Conn.Read decrypts into, taken for
// one DataReceived, so that an idle connection holds none.
var tlsPlainBuffers = sync.Pool{New: func() any { return new([tlsReadChunk]byte) }}

// TLSTransport is the transport a TLS connection gives its protocol. A
// *Conn has its methods too, for StartTLS: its ConnectionState is the zero
// one until a handshake it started is done, so HandshakeComplete, not the
// type, tells whether a connection is secure.
type TLSTransport interface {
	Transport
	// ConnectionState returns the state of the TLS connection: the zero
	// state until the handshake is done, then the negotiated version,
	// cipher suite, ALPN protocol (NegotiatedProtocol), peer certificates
	// and so on.
	ConnectionState() tls.ConnectionState
}

// tlsLayer is one TLS connection; see the comment at the top of the file.
// Its fields are the loop's; hs is shared with the handshake's goroutine.
type tlsLayer struct {
	lower  Transport
	upper  Protocol
	loop   *reactor.Reactor
	conn   *tls.Conn
	hs     *tlsHandshake // while the handshake runs: set at start, cleared when its goroutine is done
	timer  clock.DelayedCall
	local  net.Addr
	remote net.Addr

	in       []byte // ciphertext lent to the adapter during DataReceived
	records  tlsRecords
	held     []byte // ciphertext kept while the upper protocol paused reading
	plainOut []byte // plaintext written before the handshake's end

	producer Producer
	tlsErr   error // how the TLS connection ended, if it did
	reason   error // what the lower transport's ConnectionLost said
	setupErr error // why the layer closed the connection itself

	client         bool
	handshook      bool // the handshake succeeded: the loop drives conn
	upperMade      bool // the upper protocol was connected (StartTLS, or after the handshake)
	lost           bool // upper.ConnectionLost was called
	lowerLost      bool
	lowerClosing   bool
	sawEOF         bool // the adapter reported the lower's end
	reading        bool // in readRecords
	drainScheduled bool
	readPaused     bool // the upper paused reading
	disconnecting  bool // the upper called LoseConnection
	aborted        bool
	streaming      bool
	producerPaused bool // the layer paused the producer, before the handshake's end
	onLower        bool // the producer is registered on the lower transport
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
	l := &tlsLayer{lower: lower, upper: upper, client: isClient}
	if isClient {
		l.conn = tls.Client(tlsAdapter{l}, cfg)
	} else {
		l.conn = tls.Server(tlsAdapter{l}, cfg)
	}
	return l
}

// start begins the handshake over l.lower, on the lower transport's loop:
// a client's at once, a server's when the first record has arrived.
func (l *tlsLayer) start() {
	lp, ok := l.lower.(Looper)
	if !ok {
		l.setupErr = fmt.Errorf("%w: %w", ErrConnectionLost, errTLSNoLoop)
		l.lower.AbortConnection()
		return
	}
	l.loop = lp.Loop()
	l.local, l.remote = l.lower.LocalAddr(), l.lower.RemoteAddr()
	hs := &tlsHandshake{l: l}
	hs.cond.L = &hs.mu
	hs.events = func() { l.handshakeEvents(hs) }
	l.hs = hs
	l.timer = l.loop.CallLater(tlsHandshakeTimeout(), l.handshakeTimedOut)
	if l.client {
		hs.submitted = true
		tlsPool.submit(hs)
		l.loop.YieldBeforeWait()
	}
}

// ConnectionMade starts the layer over t (the Protocol face, towards the
// lower transport).
func (l *tlsLayer) ConnectionMade(t Transport) {
	l.lower = t
	l.start()
}

// DataReceived takes ciphertext from the lower transport: for the
// handshake's goroutine, or decrypted on the loop once it is done.
func (l *tlsLayer) DataReceived(data []byte) {
	switch {
	case l.lost || l.tlsErr != nil || l.aborted:
	case l.hs != nil:
		l.hs.feed(data)
	case l.readPaused || l.reading || len(l.held) > 0:
		l.held = append(l.held, data...)
	default:
		l.in = data
		l.readRecords()
		l.keepIn()
	}
}

// keepIn holds, copied, the lent ciphertext that readRecords left, ahead
// of anything held.
func (l *tlsLayer) keepIn() {
	if len(l.in) > 0 && l.tlsErr == nil && !l.lost && !l.aborted {
		l.held = append(append([]byte(nil), l.in...), l.held...)
	}
	l.in = nil
}

// readRecords decrypts the lent ciphertext, and the records tls.Conn holds,
// and hands the plaintext to the upper protocol until it runs out, the
// upper protocol pauses reading or the TLS connection ends.
func (l *tlsLayer) readRecords() {
	l.reading = true
	buf := tlsPlainBuffers.Get().(*[tlsReadChunk]byte)
	for !l.readPaused && !l.lost && !l.aborted && l.tlsErr == nil {
		n, err := l.conn.Read(buf[:])
		if n > 0 && !l.aborted && !l.lost {
			l.upper.DataReceived(buf[:n])
		}
		if err == errTLSWouldBlock {
			break
		}
		if err != nil {
			l.readFailed(err)
			break
		}
		if len(l.in) == 0 {
			// tls.Conn was given no byte past the record it returned,
			// and a record's plaintext fits buf: it holds nothing whole
			// to decrypt, and another Read would only find that out.
			break
		}
	}
	tlsPlainBuffers.Put(buf)
	l.reading = false
}

// readFailed ends the TLS connection after Read returned err: the peer's
// close_notify is answered with ours; after an error, crypto/tls has
// written the alert it sends, if any. Either way the lower transport is
// closed once that is sent.
func (l *tlsLayer) readFailed(err error) {
	if err == io.EOF && !l.sawEOF {
		err = errTLSClosedByPeer
		_ = l.conn.CloseWrite()
	}
	l.tlsErr = err
	l.closeLower()
}

// drainHeld resumes reading after a pause: the held ciphertext and the
// records tls.Conn keeps are decrypted on the loop's next turn.
func (l *tlsLayer) drainHeld() {
	if l.drainScheduled {
		return
	}
	l.drainScheduled = true
	l.loop.CallLater(0, func() {
		l.drainScheduled = false
		if l.readPaused || l.reading || l.lost || l.hs != nil || !l.handshook {
			return
		}
		l.readHeld()
	})
}

// readHeld decrypts the held ciphertext; what is left, if reading is
// paused again, stays held.
func (l *tlsLayer) readHeld() {
	l.in, l.held = l.held, nil
	l.readRecords()
	l.keepIn()
}

// ConnectionLost ends the layer once the lower connection is gone. The
// records that arrived before are decrypted and delivered, paused or not,
// before the upper protocol's ConnectionLost.
func (l *tlsLayer) ConnectionLost(reason error) {
	if l.lowerLost {
		return
	}
	l.lowerLost, l.reason = true, reason
	if hs := l.hs; hs != nil {
		if !l.aborted && l.tlsErr == nil && l.loop.Running() && tlsPool.started(hs) {
			// The handshake goes on with what came before the end, so
			// that its error, such as the peer's alert, is the reason
			// given; handshakeEvents finishes when it is done.
			hs.lowerGone()
			return
		}
		if l.tlsErr == nil {
			l.tlsErr = io.ErrUnexpectedEOF
		}
	} else if l.handshook && l.tlsErr == nil && !l.aborted && !l.lost {
		l.readPaused = false
		l.readHeld()
	}
	l.finish()
}

// finish tells the upper protocol, once, that the connection is gone.
func (l *tlsLayer) finish() {
	if l.lost {
		return
	}
	l.lost = true
	if l.timer != nil {
		_ = l.timer.Cancel()
		l.timer = nil
	}
	if l.hs != nil {
		l.hs.abort()
	}
	l.held, l.plainOut = nil, nil
	if p := l.producer; p != nil {
		l.producer = nil
		if !l.onLower {
			p.StopProducing()
		}
	}
	l.upper.ConnectionLost(l.lostReason())
}

// lostReason is why the connection ended, as the upper protocol is told:
// what the TLS connection reported if it failed, and otherwise what the
// lower transport reported, as in Twisted.
func (l *tlsLayer) lostReason() error {
	switch err := l.tlsErr; {
	case l.setupErr != nil:
		return l.setupErr
	case err == nil, err == errTLSClosedLocally, err == errTLSClosedByPeer:
		return l.reason
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		// The lower connection ended under TLS.
		if l.disconnecting || l.aborted || !errors.Is(l.reason, ErrConnectionDone) {
			return l.reason
		}
		return fmt.Errorf("%w: %w", ErrConnectionLost, ErrTLSTruncated)
	default:
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
}

// closeLower closes the lower transport once the TLS connection is over:
// after close_notify, or the alert of a TLS error, has been written to it.
func (l *tlsLayer) closeLower() {
	if l.lowerClosing || l.lowerLost {
		return
	}
	l.lowerClosing = true
	if l.onLower {
		l.lower.UnregisterProducer()
		l.onLower = false
	}
	l.lower.LoseConnection()
}

// handshakeTimedOut aborts a handshake that took too long.
func (l *tlsLayer) handshakeTimedOut() {
	l.timer = nil
	if l.hs == nil || l.lost || l.lowerLost {
		return
	}
	slog.Debug("internet: TLS handshake timed out; closing the connection", "remote", l.remote)
	l.tlsErr = ErrTLSHandshakeTimeout
	l.hs.abort()
	l.lower.AbortConnection()
}

// handshakeEvents runs on the loop when the handshake's goroutine posted:
// it sends what the handshake wrote and, at its end, hands the connection
// to the loop or closes it.
func (l *tlsLayer) handshakeEvents(hs *tlsHandshake) {
	hs.mu.Lock()
	hs.notified = false
	out, resume, done, err := hs.cipherOut, hs.resumeLower, hs.done, hs.err
	hs.cipherOut, hs.resumeLower = nil, false
	var rest []byte
	if done {
		rest, hs.cipherIn = hs.cipherIn, nil
		// The loop reads what is left: it resumes the lower's reads.
		resume = resume || hs.lowerPaused
		hs.lowerPaused = false
	}
	hs.mu.Unlock()
	if l.lost || l.hs != hs {
		if done && l.hs == hs {
			l.hs = nil
		}
		return
	}
	if len(out) > 0 && !l.aborted && !l.lowerLost {
		_, _ = l.lower.Write(out)
	}
	if resume && !l.aborted && !l.lowerLost {
		l.lower.ResumeProducing()
	}
	if !done {
		return
	}
	l.hs = nil
	if l.timer != nil {
		_ = l.timer.Cancel()
		l.timer = nil
	}
	switch {
	case l.aborted || l.tlsErr != nil:
	case err != nil:
		l.tlsErr = err
		l.closeLower()
	default:
		l.handshook = true
		l.held = rest
		l.connected()
	}
	if l.lowerLost {
		// ConnectionLost waited for the handshake: what came after it
		// is delivered, then the upper protocol is told.
		if l.handshook && l.tlsErr == nil && !l.aborted && !l.lost {
			l.readPaused = false
			l.readHeld()
		}
		if l.tlsErr == nil {
			l.tlsErr = io.ErrUnexpectedEOF
		}
		l.finish()
	}
}

// connected starts the TLS connection's life on the loop: the upper
// protocol is connected, the plaintext it wrote during the handshake sent,
// its producer registered on the lower transport, and the ciphertext that
// came after the handshake decrypted.
func (l *tlsLayer) connected() {
	if !l.upperMade {
		l.upperMade = true
		l.upper.ConnectionMade(l)
	}
	if l.lost || l.aborted || l.tlsErr != nil {
		return
	}
	if out := l.plainOut; len(out) > 0 {
		l.plainOut = nil
		if !l.encrypt(out) {
			return
		}
	}
	if p := l.producer; p != nil {
		// The lower transport pauses it again if its queue is full.
		if l.producerPaused {
			l.producerPaused = false
			p.(PushProducer).ResumeProducing()
		}
		if l.producer == p && !l.lost && l.tlsErr == nil {
			l.registerOnLower()
		}
	} else if l.disconnecting {
		l.shutdown()
	}
	if l.lost || l.tlsErr != nil || l.aborted {
		return
	}
	if l.readPaused || l.lowerLost {
		if !l.lowerLost {
			l.lower.PauseProducing()
		}
		return
	}
	l.readHeld()
}

// registerOnLower hands the upper protocol's producer to the lower
// transport, whose output queue then pauses and resumes it, or asks it for
// more, as it would a producer of its own.
func (l *tlsLayer) registerOnLower() {
	if err := l.lower.RegisterProducer(l.producer, l.streaming); err == nil {
		l.onLower = true
	}
}

// encrypt writes plaintext through tls.Conn, which sends it to the lower
// transport a record at a time. It reports whether the connection goes on.
func (l *tlsLayer) encrypt(b []byte) bool {
	if _, err := l.conn.Write(b); err != nil {
		if l.tlsErr == nil {
			l.tlsErr = err
		}
		l.closeLower()
		return false
	}
	return true
}

// shutdown sends close_notify and closes the lower transport once it has
// sent it: the other side's close_notify is not waited for.
func (l *tlsLayer) shutdown() {
	if l.tlsErr != nil || l.lost {
		return
	}
	_ = l.conn.CloseWrite()
	l.tlsErr = errTLSClosedLocally
	l.closeLower()
}

// Loop returns the loop that owns the connection.
func (l *tlsLayer) Loop() *reactor.Reactor { return l.loop }

// Write encrypts b and sends it; before the handshake's end, b is kept
// until then. b is not used after Write returns.
func (l *tlsLayer) Write(b []byte) (int, error) {
	if err := l.WriteSequence([][]byte{b}); err != nil {
		return 0, err
	}
	return len(b), nil
}

// WriteSequence writes the buffers in order. Small buffers are joined into
// one record.
func (l *tlsLayer) WriteSequence(bufs [][]byte) error {
	if l.disconnecting || l.aborted || l.lost || l.tlsErr != nil || l.lowerClosing {
		return ErrConnectionClosed
	}
	if !l.handshook {
		return l.keep(bufs)
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if len(bufs) > 1 && total <= tlsWriteChunk {
		// One record for them all.
		buf := tlsPlainBuffers.Get().(*[tlsReadChunk]byte)
		joined := buf[:0]
		for _, b := range bufs {
			joined = append(joined, b...)
		}
		ok := l.encrypt(joined)
		tlsPlainBuffers.Put(buf)
		bufs = nil
		if !ok {
			return ErrConnectionClosed
		}
	}
	for _, b := range bufs {
		if !l.encrypt(b) {
			return ErrConnectionClosed
		}
	}
	return nil
}

// keep queues plaintext written before the handshake's end, within its
// bounds: a push producer is paused above tlsPlainOutHigh, and with no
// producer the connection is closed with ErrOutputLimit past
// tlsPlainOutLimit.
func (l *tlsLayer) keep(bufs [][]byte) error {
	for _, b := range bufs {
		l.plainOut = append(l.plainOut, b...)
	}
	switch queued := len(l.plainOut); {
	case l.producer == nil && queued > tlsPlainOutLimit:
		slog.Error("internet: TLS output queued during the handshake passed its limit; closing the connection",
			"remote", l.remote, "limit", tlsPlainOutLimit)
		l.setupErr = fmt.Errorf("%w: %w", ErrConnectionLost, ErrOutputLimit)
		l.AbortConnection()
		return ErrOutputLimit
	case l.producer != nil && l.streaming && !l.producerPaused && queued > tlsPlainOutHigh:
		l.producerPaused = true
		l.producer.(PushProducer).PauseProducing()
	}
	return nil
}

// LoseConnection sends close_notify once the handshake is done and the
// producer, if any, is unregistered, then closes the lower transport once
// its queued output is written. The other side's close_notify is not
// waited for.
func (l *tlsLayer) LoseConnection() {
	if l.disconnecting || l.aborted || l.lost {
		return
	}
	l.disconnecting = true
	if l.producer == nil && l.handshook {
		l.shutdown()
	}
}

// AbortConnection drops the queued data and closes the lower transport at
// once, without close_notify.
func (l *tlsLayer) AbortConnection() {
	if l.aborted || l.lost {
		return
	}
	l.aborted = true
	l.plainOut, l.held = nil, nil
	if l.hs != nil {
		l.hs.abort()
	}
	if !l.lowerLost {
		l.lower.AbortConnection()
	}
}

// LocalAddr returns the lower transport's local address.
func (l *tlsLayer) LocalAddr() net.Addr { return l.local }

// RemoteAddr returns the lower transport's peer address.
func (l *tlsLayer) RemoteAddr() net.Addr { return l.remote }

// ConnectionState returns the TLS state once the handshake is done, and
// the zero state before.
func (l *tlsLayer) ConnectionState() tls.ConnectionState {
	if !l.handshook {
		return tls.ConnectionState{}
	}
	return l.conn.ConnectionState()
}

// PauseProducing stops DataReceived calls until ResumeProducing: once the
// handshake is done, the lower transport stops reading, and the rest of
// its last read is held.
func (l *tlsLayer) PauseProducing() {
	if l.readPaused {
		return
	}
	l.readPaused = true
	if l.handshook && !l.lowerLost && !l.lowerClosing {
		l.lower.PauseProducing()
	}
}

// ResumeProducing resumes DataReceived calls, on the loop's next turn for
// what is already here.
func (l *tlsLayer) ResumeProducing() {
	if !l.readPaused {
		return
	}
	l.readPaused = false
	if l.handshook && !l.lost {
		if !l.lowerLost && !l.lowerClosing {
			l.lower.ResumeProducing()
		}
		l.drainHeld()
	}
}

// StopProducing closes the connection, as Twisted's transports do.
func (l *tlsLayer) StopProducing() { l.LoseConnection() }

// RegisterProducer makes p the source of the upper protocol's output.
// After the handshake p is registered on the lower transport.
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
	if l.lost || l.aborted || l.lowerClosing {
		p.StopProducing()
		return nil
	}
	l.producer, l.streaming, l.producerPaused = p, streaming, false
	switch {
	case l.handshook:
		l.registerOnLower()
	case !streaming:
		p.(PullProducer).ResumeProducing()
	}
	return nil
}

// UnregisterProducer removes the producer, and lets a pending
// LoseConnection proceed.
func (l *tlsLayer) UnregisterProducer() {
	if l.producer == nil {
		return
	}
	l.producer, l.producerPaused = nil, false
	if l.onLower {
		l.onLower = false
		if !l.lowerLost && !l.lowerClosing {
			l.lower.UnregisterProducer()
		}
	}
	if l.disconnecting && l.handshook && !l.lost {
		l.shutdown()
	}
}

// tlsAdapter is the net.Conn that tls.Conn speaks over: during the
// handshake the goroutine's, blocking on the handshake's buffers; after it
// the loop's, reading the lent ciphertext and writing to the lower
// transport.
type tlsAdapter struct{ l *tlsLayer }

func (a tlsAdapter) Read(b []byte) (int, error) {
	l := a.l
	if hs := l.hs; hs != nil {
		return hs.read(b)
	}
	if len(l.in) == 0 {
		if l.lowerLost {
			l.sawEOF = true
			return 0, io.EOF
		}
		return 0, errTLSWouldBlock
	}
	n := copy(b, l.in[:l.records.take(l.in[:min(len(b), len(l.in))])])
	l.in = l.in[n:]
	return n, nil
}

func (a tlsAdapter) Write(b []byte) (int, error) {
	l := a.l
	if hs := l.hs; hs != nil {
		return hs.write(b)
	}
	if l.lowerLost {
		return 0, net.ErrClosed
	}
	return l.lower.Write(b)
}

func (a tlsAdapter) Close() error                     { return nil }
func (a tlsAdapter) LocalAddr() net.Addr              { return a.l.local }
func (a tlsAdapter) RemoteAddr() net.Addr             { return a.l.remote }
func (a tlsAdapter) SetDeadline(time.Time) error      { return nil }
func (a tlsAdapter) SetReadDeadline(time.Time) error  { return nil }
func (a tlsAdapter) SetWriteDeadline(time.Time) error { return nil }

// tlsRecords follows the boundaries of the TLS records in the ciphertext
// that the adapter gives tls.Conn, so that it is given no byte past the
// end of the record it is reading: when Read returns a record's plaintext,
// tls.Conn holds no other whole record, and if no ciphertext is left to
// lend, the loop knows without calling Read again that there is nothing
// more to decrypt. (tls.Conn would take all the lent ciphertext that fits
// its buffer.) During the handshake the goroutine's reads move it on, and
// after it the loop's.
type tlsRecords struct {
	header [tlsRecordHeader]byte // the current record's header, as far as given
	got    uint8                 // the bytes of the header given
	body   uint16                // the bytes of the record's body not given yet
}

// take returns how many of the first bytes of in belong to the record being
// given, and moves past them.
func (t *tlsRecords) take(in []byte) int {
	n := 0
	if t.got < tlsRecordHeader {
		n = copy(t.header[t.got:], in)
		t.got += uint8(n)
		if t.got < tlsRecordHeader {
			return n
		}
		t.body = uint16(t.header[3])<<8 | uint16(t.header[4])
	}
	k := min(len(in)-n, int(t.body))
	t.body -= uint16(k)
	if t.body == 0 {
		t.got = 0
	}
	return n + k
}

// tlsHandshake is what the loop and the handshake's goroutine share, under
// mu. It lives from the layer's start to the end of the handshake.
type tlsHandshake struct {
	l    *tlsLayer
	mu   sync.Mutex
	cond sync.Cond // the goroutine waits on it for ciphertext

	cipherIn    []byte // ciphertext from the lower transport
	cipherOut   []byte // ciphertext for the lower transport
	lowerPaused bool   // the lower's reads are paused: cipherIn is full
	resumeLower bool   // for the loop: resume them
	aborted     bool
	lowerEOF    bool // the lower connection is gone: reads end once cipherIn is read
	notified    bool // a call of handshakeEvents is posted
	events      func()
	done        bool
	err         error

	// The pool's queue, under tlsPool.mu.
	submitted  bool // given to the pool (the loop's)
	queued     bool
	prev, next *tlsHandshake
}

// feed passes ciphertext to the handshake, and starts a server's once a
// first record has arrived: a connection that sends nothing, or only part
// of a record, holds no goroutine.
func (hs *tlsHandshake) feed(data []byte) {
	hs.mu.Lock()
	hs.cipherIn = append(hs.cipherIn, data...)
	pause := !hs.lowerPaused && len(hs.cipherIn) > tlsHandshakeInHigh
	hs.lowerPaused = hs.lowerPaused || pause
	submit := !hs.submitted && firstRecordIn(hs.cipherIn)
	hs.cond.Signal()
	hs.mu.Unlock()
	if submit {
		hs.submitted = true
		tlsPool.submit(hs)
	}
	// The handshake's goroutine, woken or just started, runs on this
	// thread before the loop blocks in the poller, not after the runtime
	// has taken the processor back from it through another thread.
	hs.l.loop.YieldBeforeWait()
	if pause {
		hs.l.lower.PauseProducing()
	}
}

// firstRecordIn reports whether b holds a whole TLS handshake record, or
// the header of something else, which crypto/tls refuses at once.
func firstRecordIn(b []byte) bool {
	const header = 5
	if len(b) < header {
		return false
	}
	return b[0] != 22 || len(b) >= header+(int(b[3])<<8|int(b[4]))
}

// run is the handshake's goroutine.
func (hs *tlsHandshake) run() {
	err := hs.l.conn.Handshake()
	hs.mu.Lock()
	hs.done, hs.err = true, err
	hs.notifyLocked()
	hs.mu.Unlock()
}

// abort ends the handshake: its reads and writes fail from now on, and it
// leaves the pool's queue if it is waiting there.
func (hs *tlsHandshake) abort() {
	tlsPool.cancel(hs)
	hs.mu.Lock()
	hs.aborted = true
	hs.cipherIn = nil
	hs.cond.Signal()
	hs.mu.Unlock()
}

// lowerGone tells the handshake that the lower connection is gone.
func (hs *tlsHandshake) lowerGone() {
	hs.mu.Lock()
	hs.lowerEOF = true
	hs.cond.Signal()
	hs.mu.Unlock()
}

// read blocks until the loop passed ciphertext, the lower connection is
// gone or the handshake was aborted.
func (hs *tlsHandshake) read(b []byte) (int, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for len(hs.cipherIn) == 0 && !hs.aborted && !hs.lowerEOF {
		hs.cond.Wait()
	}
	switch {
	case hs.aborted:
		return 0, net.ErrClosed
	case len(hs.cipherIn) == 0:
		return 0, io.EOF
	}
	in := hs.cipherIn[:min(len(b), len(hs.cipherIn))]
	n := copy(b, in[:hs.l.records.take(in)])
	hs.cipherIn = hs.cipherIn[n:]
	if len(hs.cipherIn) == 0 {
		hs.cipherIn = nil
		if hs.lowerPaused {
			hs.lowerPaused, hs.resumeLower = false, true
			hs.notifyLocked()
		}
	}
	return n, nil
}

// write leaves ciphertext for the loop to send.
func (hs *tlsHandshake) write(b []byte) (int, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.aborted || hs.lowerEOF {
		return 0, net.ErrClosed
	}
	hs.cipherOut = append(hs.cipherOut, b...)
	hs.notifyLocked()
	return len(b), nil
}

// notifyLocked posts a call of handshakeEvents to the loop unless one is
// pending.
func (hs *tlsHandshake) notifyLocked() {
	if !hs.notified {
		hs.notified = true
		hs.l.loop.CallFromThread(hs.events)
	}
}

// TLSHandshakeLimits bounds the TLS handshakes of the process. Each
// handshake in progress runs on a goroutine of its own (crypto/tls blocks
// in its reads during a handshake); the data that follows runs on the loop.
type TLSHandshakeLimits struct {
	// Concurrent is the most handshakes in progress at once, in the whole
	// process; more wait their turn, in the order they came. A server's
	// handshake starts, and counts, once the client's first record has
	// arrived. Zero means DefaultTLSHandshakes.
	Concurrent int
	// Timeout is how long a connection has from its start to finish its
	// handshake, its wait for its turn included; past it the connection is
	// aborted and its protocol's ConnectionLost gets ErrTLSHandshakeTimeout.
	// Zero means DefaultTLSHandshakeTimeout.
	Timeout time.Duration
}

// SetTLSHandshakeLimits sets the limits of the handshakes that start from
// now on; it may be called from any goroutine.
func SetTLSHandshakeLimits(lim TLSHandshakeLimits) {
	if lim.Concurrent <= 0 {
		lim.Concurrent = DefaultTLSHandshakes
	}
	if lim.Timeout <= 0 {
		lim.Timeout = DefaultTLSHandshakeTimeout
	}
	tlsPool.mu.Lock()
	tlsPool.max, tlsPool.timeout = lim.Concurrent, lim.Timeout
	var start []*tlsHandshake
	for tlsPool.running < tlsPool.max && tlsPool.head != nil {
		tlsPool.running++
		start = append(start, tlsPool.popLocked())
	}
	tlsPool.mu.Unlock()
	for _, hs := range start {
		go tlsPool.work(hs)
	}
}

// tlsHandshakeTimeout returns the handshake time-out in force.
func tlsHandshakeTimeout() time.Duration {
	tlsPool.mu.Lock()
	defer tlsPool.mu.Unlock()
	return tlsPool.timeout
}

// tlsPool runs the handshakes, at most max at once: a goroutine that
// finishes one takes the next waiting, and ends when none is.
var tlsPool = &handshakePool{max: DefaultTLSHandshakes, timeout: DefaultTLSHandshakeTimeout}

type handshakePool struct {
	mu         sync.Mutex
	max        int
	timeout    time.Duration
	running    int
	head, tail *tlsHandshake
}

// submit runs hs on a goroutine, or queues it until one is free.
func (p *handshakePool) submit(hs *tlsHandshake) {
	p.mu.Lock()
	if p.running < p.max {
		p.running++
		p.mu.Unlock()
		go p.work(hs)
		return
	}
	hs.queued = true
	hs.prev = p.tail
	if p.tail != nil {
		p.tail.next = hs
	} else {
		p.head = hs
	}
	p.tail = hs
	p.mu.Unlock()
}

// work runs hs, then the waiting handshakes, one after the other.
func (p *handshakePool) work(hs *tlsHandshake) {
	for hs != nil {
		hs.run()
		p.mu.Lock()
		if hs = p.popLocked(); hs == nil {
			p.running--
		}
		p.mu.Unlock()
	}
}

// popLocked takes the first waiting handshake, or nil.
func (p *handshakePool) popLocked() *tlsHandshake {
	hs := p.head
	if hs != nil {
		p.removeLocked(hs)
	}
	return hs
}

// started reports whether hs runs on a goroutine, or has run.
func (p *handshakePool) started(hs *tlsHandshake) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return hs.submitted && !hs.queued
}

// cancel takes hs out of the queue if it is waiting there.
func (p *handshakePool) cancel(hs *tlsHandshake) {
	p.mu.Lock()
	if hs.queued {
		p.removeLocked(hs)
	}
	p.mu.Unlock()
}

func (p *handshakePool) removeLocked(hs *tlsHandshake) {
	if hs.prev != nil {
		hs.prev.next = hs.next
	} else {
		p.head = hs.next
	}
	if hs.next != nil {
		hs.next.prev = hs.prev
	} else {
		p.tail = hs.prev
	}
	hs.prev, hs.next, hs.queued = nil, nil, false
}

// TLSFactory wraps f so that each protocol it builds speaks TLS over its
// connection: Twisted's TLSMemoryBIOFactory. isClient chooses the side of
// the handshake; cfg must hold a certificate for a server, and for a client
// the name to verify (ServerName) unless ConnectTLS sets it. TLS 1.3 is used
// when the peer has it, and nothing older than TLS 1.2 is accepted. The
// protocol's ConnectionMade is called once the handshake has succeeded; if
// it fails or times out (TLSHandshakeLimits), only ConnectionLost is
// called, with the TLS error.
//
// The handshake runs on a goroutine of a bounded pool; after it the loop
// encrypts and decrypts, and an idle connection has no goroutine and no
// buffer of Twist's: it costs crypto/tls's state besides its transport,
// about 8 KiB of heap after a TLS 1.3 handshake with an ECDSA P-256
// certificate (X25519MLKEM768 key exchange; the input buffers crypto/tls
// keeps included), as BenchmarkTLSIdleConnectionMemory measures. TLS 1.2 renegotiation, which crypto/tls offers to clients
// only, is refused: it would need the goroutine again.
func TLSFactory(cfg *tls.Config, f Factory, isClient bool) Factory {
	return &tlsFactory{cfg: tlsMinVersion(cfg), f: f, isClient: isClient}
}

// tlsMinVersion returns cfg, or a copy of it that refuses TLS before 1.2
// and renegotiation (a handshake inside Read, which would block the loop).
func tlsMinVersion(cfg *tls.Config) *tls.Config {
	if cfg.MinVersion >= tls.VersionTLS12 && cfg.Renegotiation == tls.RenegotiateNever {
		return cfg
	}
	cfg = cfg.Clone()
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	cfg.Renegotiation = tls.RenegotiateNever
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
