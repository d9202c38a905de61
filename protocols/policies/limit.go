package policies

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/twistgo/twist/internet"
)

// admitAll is the Admit and Release of policies that admit every connection.
type admitAll struct{}

func (admitAll) Admit(net.Addr) bool { return true }
func (admitAll) Release(net.Addr)    {}

// LimitTotalConnections returns f's protocols wrapped so that at most max
// connections are open at once; past that, new connections are closed as
// soon as they are accepted (Twisted's LimitTotalConnectionsFactory, without
// its overflow protocol). The log says when the limit is reached and when
// connections are accepted again, not once per refusal.
func LimitTotalConnections(f internet.Factory, max int) *WrappingFactory {
	return &WrappingFactory{Wrapped: f, Policy: &ConnectionLimit{Max: max}}
}

// ConnectionLimit is the Policy of LimitTotalConnections. It is safe for
// concurrent use.
type ConnectionLimit struct {
	// Max is the number of connections admitted at once.
	Max int

	mu      sync.Mutex
	n       int
	full    bool
	refused int64
}

// Admit admits a connection if fewer than Max are open.
func (l *ConnectionLimit) Admit(net.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= l.Max {
		l.refused++
		if !l.full {
			l.full = true
			slog.Warn(fmt.Sprintf("policies: %d connections open, the limit; refusing new connections", l.n))
		}
		return false
	}
	l.n++
	return true
}

// Release counts a connection as closed.
func (l *ConnectionLimit) Release(net.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.full && l.n < l.Max {
		l.full = false
		slog.Info(fmt.Sprintf("policies: below the limit of %d connections again; %d refused meanwhile", l.Max, l.refused))
		l.refused = 0
	}
}

// Count returns the number of connections open.
func (l *ConnectionLimit) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Wrap wraps a connection plainly: the limit needs only Admit and Release.
func (l *ConnectionLimit) Wrap(w *ProtocolWrapper) Wrapper { return w }

// LimitConnectionsByPeer returns f's protocols wrapped so that at most max
// connections from one IP address are open at once (Twisted's
// LimitConnectionsByPeer). Connections without an IP address, over Unix
// sockets, are not limited.
func LimitConnectionsByPeer(f internet.Factory, max int) *WrappingFactory {
	return &WrappingFactory{Wrapped: f, Policy: &PeerLimit{Max: max}}
}

// PeerLimit is the Policy of LimitConnectionsByPeer. It is safe for
// concurrent use.
type PeerLimit struct {
	// Max is the number of connections admitted at once from one address.
	Max int

	mu    sync.Mutex
	peers map[netip.Addr]int
}

// peerIP returns the IP address of a TCP or UDP peer.
func peerIP(addr net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	ap, ok := netip.AddrFromSlice(ip)
	return ap.Unmap(), ok
}

// Admit admits a connection if fewer than Max are open from its address.
func (l *PeerLimit) Admit(addr net.Addr) bool {
	ip, ok := peerIP(addr)
	if !ok {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peers[ip] >= l.Max {
		return false
	}
	if l.peers == nil {
		l.peers = make(map[netip.Addr]int)
	}
	l.peers[ip]++
	return true
}

// Release counts a connection from addr as closed.
func (l *PeerLimit) Release(addr net.Addr) {
	ip, ok := peerIP(addr)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peers[ip]--; l.peers[ip] <= 0 {
		delete(l.peers, ip) // the map holds only addresses with connections
	}
}

// Count returns the number of connections open from addr's IP address.
func (l *PeerLimit) Count(addr net.Addr) int {
	ip, _ := peerIP(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peers[ip]
}

// Wrap wraps a connection plainly: the limit needs only Admit and Release.
func (l *PeerLimit) Wrap(w *ProtocolWrapper) Wrapper { return w }
