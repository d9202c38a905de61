package bgp

import (
	"net"
	"net/netip"
	"slices"
)

// Announce adds routes for the prefixes with the attributes to what is
// announced to the peer, and sends them if the session is Established (else
// when it is). The peer gets the attributes as an eBGP speaker sends them:
// the local AS prepended to AS_PATH, LOCAL_PREF dropped, and the session's
// local address as next hop where a is missing one. a must not change after.
func (p *Peer) Announce(a *Attributes, prefixes ...netip.Prefix) {
	for _, x := range prefixes {
		p.out[x.Masked()] = a
	}
	if p.state == Established {
		p.sendRoutes(a, prefixes)
	}
}

// Withdraw removes routes from what is announced to the peer, and withdraws
// them if the session is Established.
func (p *Peer) Withdraw(prefixes ...netip.Prefix) {
	var gone []netip.Prefix
	for _, x := range prefixes {
		if _, ok := p.out[x.Masked()]; ok {
			delete(p.out, x.Masked())
			gone = append(gone, x.Masked())
		}
	}
	if p.state == Established && len(gone) > 0 {
		p.sendWithdrawals(gone)
	}
}

// sendAll sends every announced route, then End-of-RIB for each family.
func (p *Peer) sendAll() {
	groups := make(map[*Attributes][]netip.Prefix)
	for x, a := range p.out {
		groups[a] = append(groups[a], x)
	}
	for a, xs := range groups {
		slices.SortFunc(xs, netip.Prefix.Compare)
		p.sendRoutes(a, xs)
	}
	for _, f := range p.cfg.Families {
		if f == IPv4Unicast || f == IPv6Unicast {
			p.send(p.conn, &Update{EndOfRIB: &f})
		}
	}
}

// exported returns a as it goes to the peer.
func (p *Peer) exported(a *Attributes) *Attributes {
	e := *a
	ebgp := p.cfg.LocalAS != p.cfg.RemoteAS
	if ebgp {
		e.HasLocalPref = false
		if len(e.ASPath) > 0 && e.ASPath[0].Type == ASSequence && len(e.ASPath[0].ASNs) < 255 {
			first := append([]uint32{p.cfg.LocalAS}, e.ASPath[0].ASNs...)
			e.ASPath = append([]ASPathSegment{{ASSequence, first}}, e.ASPath[1:]...)
		} else {
			e.ASPath = append([]ASPathSegment{{ASSequence, []uint32{p.cfg.LocalAS}}}, e.ASPath...)
		}
	}
	var local netip.Addr
	if ta, ok := p.conn.t.LocalAddr().(*net.TCPAddr); ok {
		local, _ = netip.AddrFromSlice(ta.IP)
	}
	if !e.NextHop.IsValid() {
		e.NextHop = local.Unmap()
	}
	if !e.NextHop6.IsValid() {
		e.NextHop6 = p.cfg.NextHop6
		if !e.NextHop6.IsValid() {
			e.NextHop6 = netip.AddrFrom16(local.As16())
		}
	}
	return &e
}

// sendRoutes sends routes with one set of attributes in as few UPDATEs as
// fit the message size.
func (p *Peer) sendRoutes(a *Attributes, prefixes []netip.Prefix) {
	e := p.exported(a)
	// The fixed part: header, two lengths, the attributes, and an
	// MP_REACH_NLRI's header with two next hops.
	fixed := HeaderLen + 4 + len(e.appendAttributes(nil, p.opts.AS4, true)) + 4 + 5 + 32
	p.sendChunks(prefixes, fixed, func(chunk []netip.Prefix) *Update { return &Update{Attrs: e, NLRI: chunk} })
}

func (p *Peer) sendWithdrawals(prefixes []netip.Prefix) {
	p.sendChunks(prefixes, HeaderLen+4+4+3, func(chunk []netip.Prefix) *Update { return &Update{Withdrawn: chunk} })
}

// sendChunks sends the IPv4 prefixes, then the IPv6 ones, in UPDATEs of at
// most the message size whose fixed part takes fixed bytes.
func (p *Peer) sendChunks(prefixes []netip.Prefix, fixed int, build func([]netip.Prefix) *Update) {
	budget := DefaultMaxMessageLen - fixed
	for _, v4 := range []bool{true, false} {
		var chunk []netip.Prefix
		size := 0
		for _, x := range prefixes {
			if x.Addr().Is4() != v4 {
				continue
			}
			if size+prefixLen(x) > budget {
				p.send(p.conn, build(chunk))
				chunk, size = nil, 0
			}
			chunk = append(chunk, x)
			size += prefixLen(x)
		}
		if len(chunk) > 0 {
			p.send(p.conn, build(chunk))
		}
	}
}
