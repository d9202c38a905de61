package internet

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
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
// if c belongs to a listener.
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

// openListeners are the listeners of the process that are open, for
// OpenListeners; a listener joins when it opens and leaves when it closes,
// which is rare enough for a lock.
var openListeners struct {
	sync.Mutex
	list []Listener
}

// OpenListeners returns the listeners of the process that are open, in the
// order they opened: the *Port of each ListenTCP, ListenTLS and ListenUnix
// (and the endpoints and services built on them), and the *GroupPort of
// each listen on a group. It is how a status page finds the listeners that
// code it does not control, such as a twistd plugin, opened. It may be
// called from any goroutine.
func OpenListeners() []Listener {
	openListeners.Lock()
	defer openListeners.Unlock()
	return slices.Clone(openListeners.list)
}

func addOpenListener(l Listener) {
	openListeners.Lock()
	openListeners.list = append(openListeners.list, l)
	openListeners.Unlock()
}

func removeOpenListener(l Listener) {
	openListeners.Lock()
	openListeners.list = slices.DeleteFunc(openListeners.list, func(o Listener) bool { return o == l })
	openListeners.Unlock()
}
