package bgp

import (
	"iter"
	"net/netip"
)

// AdjRIBIn holds the routes one peer announced, as they arrived (RFC 4271
// §3.2): a prefix and the attributes of the UPDATE that announced it last.
// Routes of one UPDATE share one *Attributes, so a route costs a map entry.
// It belongs to its Peer's loop.
type AdjRIBIn struct {
	routes map[netip.Prefix]*Attributes
	n4     int
}

func newAdjRIBIn() *AdjRIBIn { return &AdjRIBIn{routes: make(map[netip.Prefix]*Attributes)} }

// Len returns the number of routes.
func (r *AdjRIBIn) Len() int { return len(r.routes) }

// Count returns the number of IPv4 and of IPv6 routes.
func (r *AdjRIBIn) Count() (ipv4, ipv6 int) { return r.n4, len(r.routes) - r.n4 }

// Lookup returns the attributes of the route for p.
func (r *AdjRIBIn) Lookup(p netip.Prefix) (*Attributes, bool) {
	a, ok := r.routes[p]
	return a, ok
}

// All returns the routes, in no particular order.
func (r *AdjRIBIn) All() iter.Seq2[netip.Prefix, *Attributes] {
	return func(yield func(netip.Prefix, *Attributes) bool) {
		for p, a := range r.routes {
			if !yield(p, a) {
				return
			}
		}
	}
}

func (r *AdjRIBIn) add(p netip.Prefix, a *Attributes) {
	if _, ok := r.routes[p]; !ok && p.Addr().Is4() {
		r.n4++
	}
	r.routes[p] = a
}

func (r *AdjRIBIn) remove(p netip.Prefix) {
	if _, ok := r.routes[p]; ok {
		delete(r.routes, p)
		if p.Addr().Is4() {
			r.n4--
		}
	}
}

// clear drops every route, and the map's memory with them.
func (r *AdjRIBIn) clear() {
	r.routes = make(map[netip.Prefix]*Attributes)
	r.n4 = 0
}
