package metrics

import (
	"github.com/twistgo/twist/internet"
)

// Listen is one listener's entry of a Snapshot (internet.ListenerStats).
type Listen struct {
	// Name is the name it was added under; for a listener found by
	// AddOpenListeners, its address as network:address.
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	Open     int64  `json:"connections_open"`
	Accepted uint64 `json:"connections_accepted"`
	// Refused counts the connections its factory refused: a connection
	// cap (protocols/policies) reached, for instance.
	Refused  uint64 `json:"connections_refused"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// AddListener adds a listener (an *internet.Port or *internet.GroupPort)
// under name. It stays in the reports after it stops listening, with its
// final counts.
func (r *Registry) AddListener(name string, l internet.Listener) {
	r.mu.Lock()
	r.listeners = append(r.listeners, named[internet.Listener]{name, l})
	r.mu.Unlock()
}

// AddOpenListeners makes the registry report, at each read, every listener
// the process has open (internet.OpenListeners) besides those added with
// AddListener, each named by its address, as "tcp:127.0.0.1:8080", and
// likewise every UDP port open (internet.OpenUDPPorts) besides those added
// with AddUDPPort, as "udp:127.0.0.1:5353". It is
// the hook through which twistd reports the listeners its plugins open
// without them knowing of metrics; a listener that closes leaves the
// reports.
func (r *Registry) AddOpenListeners() {
	r.mu.Lock()
	r.openListeners = true
	r.mu.Unlock()
}

// readListeners reads the listeners added and, if all is set, the others
// open.
func readListeners(added []named[internet.Listener], all bool) []Listen {
	return readNamed(added, all, internet.OpenListeners, readListener, func(l internet.Listener) string {
		a := l.Addr()
		return a.Network() + ":" + a.String()
	})
}

func readListener(name string, l internet.Listener) Listen {
	s := l.Stats()
	return Listen{
		Name: name, Addr: l.Addr().String(),
		Open: s.Open, Accepted: s.Accepted, Refused: s.Refused,
		BytesIn: s.BytesIn, BytesOut: s.BytesOut,
	}
}
