package internet

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/twistgo/twist/reactor"
)

// ListenerStats is what a listener counts of its connections since it
// opened. The counters are cumulative but Open.
type ListenerStats struct {
	// Open is the number of its connections open now.
	Open int64
	// Accepted counts the connections accepted, Refused those of them its
	// factory refused by building no protocol, which is how the
	// connection caps of protocols/policies refuse.
	Accepted, Refused uint64
	// BytesIn and BytesOut count the bytes read from and written to its
	// connections' sockets: for TLS, the ciphertext.
	BytesIn, BytesOut uint64
}

// connCounts is what a listener's connections count: one atomic add per
// accept, close, read and write system call. Atomic, since a listener's
// connections may live on several loops (a hand-off GroupPort). It is
// allocated apart from connShared, which every read and write reads, so
// that its writes do not evict the limits from other cores' caches.
type connCounts struct {
	open              atomic.Int64
	accepted, refused atomic.Uint64
	in, out           atomic.Uint64
}

func (k *connCounts) addTo(s *ListenerStats) {
	s.Open += k.open.Load()
	s.Accepted += k.accepted.Load()
	s.Refused += k.refused.Load()
	s.BytesIn += k.in.Load()
	s.BytesOut += k.out.Load()
}

// countIn and countOut count the bytes of one read or write of c's socket,
// if c belongs to a listener or a connector.
func (c *Conn) countIn(n int) {
	if k := c.shared.counts; k != nil {
		k.in.Add(uint64(n))
	}
}

func (c *Conn) countOut(n int) {
	if k := c.shared.counts; k != nil && n > 0 {
		k.out.Add(uint64(n))
	}
}

// Stats returns the counters of the port's connections. Unlike the port's
// other methods, it may be called from any goroutine.
func (p *Port) Stats() ListenerStats {
	var s ListenerStats
	p.shared.counts.addTo(&s)
	return s
}

// Stats returns the counters of the connections of all the group's
// sockets. It may be called from any goroutine.
func (gp *GroupPort) Stats() ListenerStats {
	var s ListenerStats
	for _, p := range gp.ports {
		p.shared.counts.addTo(&s)
	}
	return s
}

// Listener is a listening port that counts its connections: a *Port or a
// *GroupPort.
type Listener interface {
	Addr() net.Addr
	Stats() ListenerStats
}

// openSet is a set of the process's open ports of one kind, for
// OpenListeners and OpenUDPPorts; a port joins when it opens and leaves
// when it closes, which is rare enough for a lock.
type openSet[T comparable] struct {
	mu   sync.Mutex
	list []T
}

func (s *openSet[T]) add(v T) {
	s.mu.Lock()
	s.list = append(s.list, v)
	s.mu.Unlock()
}

func (s *openSet[T]) remove(v T) {
	s.mu.Lock()
	s.list = slices.DeleteFunc(s.list, func(o T) bool { return o == v })
	s.mu.Unlock()
}

func (s *openSet[T]) all() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

var (
	openListeners openSet[Listener]
	openUDPPorts  openSet[*UDPPort]
)

// OpenListeners returns the listeners of the process that are open, in the
// order they opened: the *Port of each ListenTCP, ListenTLS and ListenUnix
// (and the endpoints and services built on them), and the *GroupPort of
// each listen on a group. It is how a status page finds the listeners that
// code it does not control, such as a twistd plugin, opened. It may be
// called from any goroutine.
func OpenListeners() []Listener { return openListeners.all() }

func addOpenListener(l Listener)    { openListeners.add(l) }
func removeOpenListener(l Listener) { openListeners.remove(l) }

// OpenUDPPorts returns the UDP ports of the process that are open, in the
// order they opened, as OpenListeners does for stream listeners. It may be
// called from any goroutine; of a port's methods, only Stats and LocalAddr
// may be.
func OpenUDPPorts() []*UDPPort { return openUDPPorts.all() }

// UDPStats is what a UDP port counts since it opened.
type UDPStats struct {
	// DatagramsIn and BytesIn count the datagrams handed to the protocol
	// and their bytes; DatagramsOut and BytesOut those the socket took.
	DatagramsIn, DatagramsOut uint64
	BytesIn, BytesOut         uint64
	// Dropped counts the datagrams received longer than the port's limit
	// (WithMaxDatagramSize); SendErrors the datagrams WriteTo or Write did
	// not send: the socket's buffer was full, the datagram too long, or
	// the peer had refused an earlier one (a connected port).
	Dropped, SendErrors uint64
}

// udpCounts are a UDP port's counters. Only its loop writes them, but any
// goroutine may read them (Stats), hence atomics: a read turn adds its
// datagrams once, at its end, and a send counts with two adds.
type udpCounts struct {
	in, inBytes, out, outBytes, dropped, sendErrors atomic.Uint64
}

// Stats returns the port's counters. Unlike its other methods, it may be
// called from any goroutine.
func (p *UDPPort) Stats() UDPStats {
	k := &p.counts
	return UDPStats{
		DatagramsIn: k.in.Load(), DatagramsOut: k.out.Load(),
		BytesIn: k.inBytes.Load(), BytesOut: k.outBytes.Load(),
		Dropped: k.dropped.Load(), SendErrors: k.sendErrors.Load(),
	}
}

// countSent counts a datagram of n bytes the socket took, or one it did not
// if err is not nil.
func (p *UDPPort) countSent(n int, err error) {
	if err != nil {
		p.counts.sendErrors.Add(1)
		return
	}
	p.counts.out.Add(1)
	p.counts.outBytes.Add(uint64(n))
}

// ClientStats is what the process's client connections (those of the
// connectors of ConnectTCP, ConnectTLS, ConnectUnix and ConnectProtocol)
// count since it started. The counters are cumulative but Open.
type ClientStats struct {
	// Attempts counts the connection attempts started, Connected those
	// that connected. Of the others, ConnectRefused counts those the peer
	// refused, ConnectTimedOut those the connector's time-out ended, and
	// ConnectFailed the rest: no route, a failed name lookup,
	// StopConnecting, the loop's shutdown.
	Attempts, Connected                            uint64
	ConnectRefused, ConnectTimedOut, ConnectFailed uint64
	// Open is the number of client connections open now.
	Open int64
	// BytesIn and BytesOut count the bytes read from and written to their
	// sockets: for TLS, the ciphertext.
	BytesIn, BytesOut uint64
}

// clientCounts are the client connections' counters: connCounts (accepted
// counting the connections made) and the attempts' outcomes. They are
// kept in clientShards, one chosen by the connector's loop, so that the
// clients of loops on different cores do not add to one cache line.
type clientCounts struct {
	connCounts
	attempts, refused, timedOut, failed atomic.Uint64
	_                                   [128 - 9*8]byte // padding, so that shards seldom share a cache line
}

var clientShards [16]clientCounts

// clientShard returns the client counters of the connectors of loop.
func clientShard(loop *reactor.Reactor) *clientCounts {
	h := uint64(uintptr(unsafe.Pointer(loop))) * 0x9e3779b97f4a7c15 // Fibonacci hashing
	return &clientShards[h>>(64-4)]
}

// countFailed counts an attempt that failed with reason.
// The reasons are the connector's own: a sentinel, or one with its cause
// (errors.Is would allocate, for causeError.Unwrap).
func (k *clientCounts) countFailed(reason error) {
	kind := reason
	if ce, ok := reason.(*causeError); ok {
		kind = ce.kind
	}
	switch kind {
	case ErrConnectionRefused:
		k.refused.Add(1)
	case ErrTimeout:
		k.timedOut.Add(1)
	default:
		k.failed.Add(1)
	}
}

// Clients returns the counters of the process's client connections. It
// may be called from any goroutine.
func Clients() ClientStats {
	var s ClientStats
	var l ListenerStats
	for i := range clientShards {
		k := &clientShards[i]
		k.addTo(&l)
		s.Attempts += k.attempts.Load()
		s.ConnectRefused += k.refused.Load()
		s.ConnectTimedOut += k.timedOut.Load()
		s.ConnectFailed += k.failed.Load()
	}
	s.Connected, s.Open, s.BytesIn, s.BytesOut = l.Accepted, l.Open, l.BytesIn, l.BytesOut
	return s
}
