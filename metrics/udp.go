package metrics

import (
	"github.com/twistgo/twist/internet"
)

// UDPPort is one UDP port's entry of a Snapshot (internet.UDPStats).
type UDPPort struct {
	// Name is the name it was added under; for a port found by
	// AddOpenListeners, its address as udp:address.
	Name         string `json:"name"`
	Addr         string `json:"addr"`
	DatagramsIn  uint64 `json:"datagrams_in"`
	DatagramsOut uint64 `json:"datagrams_out"`
	BytesIn      uint64 `json:"bytes_in"`
	BytesOut     uint64 `json:"bytes_out"`
	// Dropped counts the datagrams longer than the port's limit,
	// SendErrors those the socket did not send.
	Dropped    uint64 `json:"dropped"`
	SendErrors uint64 `json:"send_errors"`
}

// Clients are the process's client connections in a Snapshot
// (internet.ClientStats): those its connectors made, whoever made them.
type Clients struct {
	Attempts  uint64 `json:"connect_attempts"`
	Connected uint64 `json:"connected"`
	// Refused, TimedOut and Failed count the attempts that did not
	// connect: refused by the peer, out of time, for another reason.
	Refused  uint64 `json:"connect_refused"`
	TimedOut uint64 `json:"connect_timed_out"`
	Failed   uint64 `json:"connect_failed"`
	Open     int64  `json:"connections_open"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// AddUDPPort adds a UDP port under name. It stays in the reports after it
// stops listening, with its final counts.
func (r *Registry) AddUDPPort(name string, p *internet.UDPPort) {
	r.mu.Lock()
	r.udp = append(r.udp, named[*internet.UDPPort]{name, p})
	r.mu.Unlock()
}

// readUDP reads the UDP ports added and, if all is set, the others open.
func readUDP(added []named[*internet.UDPPort], all bool) []UDPPort {
	return readNamed(added, all, internet.OpenUDPPorts, readUDPPort, func(p *internet.UDPPort) string {
		return "udp:" + p.LocalAddr().String()
	})
}

func readUDPPort(name string, p *internet.UDPPort) UDPPort {
	s := p.Stats()
	return UDPPort{
		Name: name, Addr: p.LocalAddr().String(),
		DatagramsIn: s.DatagramsIn, DatagramsOut: s.DatagramsOut,
		BytesIn: s.BytesIn, BytesOut: s.BytesOut,
		Dropped: s.Dropped, SendErrors: s.SendErrors,
	}
}

func readClients() Clients {
	s := internet.Clients()
	return Clients{
		Attempts: s.Attempts, Connected: s.Connected,
		Refused: s.ConnectRefused, TimedOut: s.ConnectTimedOut, Failed: s.ConnectFailed,
		Open: s.Open, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
	}
}
