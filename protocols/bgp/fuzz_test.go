package bgp

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// seedMessages are well-formed and malformed messages of every type.
func seedMessages() [][]byte {
	seeds := [][]byte{
		Keepalive{}.AppendMessage(nil),
		(&RouteRefresh{IPv6Unicast, 0}).AppendMessage(nil),
		AdminShutdown("bye").AppendMessage(nil),
		NewOpen(65001, 90, nh4, MultiprotocolCapability(IPv6Unicast), FQDNCapability("h", "d"),
			GracefulRestartCapability(GracefulRestart{Time: 1})).AppendMessage(nil),
		(&Update{Withdrawn: pfx("10.0.0.0/8", "2001:db8::/32")}).AppendMessage(nil),
		(&Update{Attrs: fullAttrs(), NLRI: pfx("10.0.0.0/8", "2001:db8::/32")}).AppendMessage(nil),
		(&Update{Attrs: fullAttrs(), NLRI: pfx("10.0.0.0/8")}).Append(nil, Options{}),
		base(AttrOrigin, nil).message(),
		base(0, func(b *updateBuilder) { b.raw(FlagOptional, AttrMED, 9, 0) }).message(),
	}
	return seeds
}

// FuzzParseMessage checks that decoding never panics, that it reads no more
// than the header's length, and that what decodes re-encodes to something
// that decodes to the same.
func FuzzParseMessage(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, as4 bool) {
		opts := Options{AS4: as4}
		m, n, err := ParseMessage(b, opts)
		if n > len(b) {
			t.Fatalf("length %d past the %d bytes", n, len(b))
		}
		var ue *UpdateError
		if err != nil && !(errors.As(err, &ue) && ue.Action != SessionReset) {
			var notif *Notification
			if err != ErrShort && !errors.As(err, &notif) {
				t.Fatalf("error %v is not a *Notification", err)
			}
			return
		}
		var again []byte
		if u, ok := m.(*Update); ok {
			again = u.Append(nil, opts)
		} else {
			again = m.AppendMessage(nil)
		}
		m2, _, err := ParseMessage(again, opts)
		if err != nil {
			t.Fatalf("re-encoded %T does not decode: %v\n%x\n%x", m, err, b[:n], again)
		}
		if u, ok := m.(*Update); ok {
			normalize(u)
			normalize(m2.(*Update))
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", m, m2)
		}
	})
}

// normalize clears what legitimately changes in a round trip: the Partial
// flag of unknown attributes, ASes in a 2-octet path that may split, and an
// UPDATE with attributes but no routes, which re-encodes as IPv4's End-of-RIB.
func normalize(u *Update) {
	if u.EndOfRIB != nil && *u.EndOfRIB == IPv4Unicast {
		u.EndOfRIB = nil
	}
	if u.Attrs == nil {
		return
	}
	for i := range u.Attrs.Unknown {
		u.Attrs.Unknown[i].Flags |= FlagPartial
	}
	var flat []ASPathSegment
	for _, s := range u.Attrs.ASPath {
		if n := len(flat); n > 0 && flat[n-1].Type == s.Type && s.Type == ASSequence {
			flat[n-1].ASNs = append(append([]uint32(nil), flat[n-1].ASNs...), s.ASNs...)
			continue
		}
		flat = append(flat, s)
	}
	u.Attrs.ASPath = flat
	if len(u.NLRI) > 0 && !hasV4(u.NLRI) {
		u.Attrs.NextHop = netip.Addr{}
	}
}

func hasV4(ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Addr().Is4() {
			return true
		}
	}
	return false
}

// FuzzFramer checks that messages cut at any point come out as they went in.
func FuzzFramer(f *testing.F) {
	var stream []byte
	for _, s := range seedMessages() {
		stream = append(stream, s...)
	}
	f.Add(stream, uint16(1), uint16(7))
	f.Add(stream, uint16(19), uint16(4096))
	f.Add([]byte{0xff, 0xff}, uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, cut1, cut2 uint16) {
		var whole [][]byte
		var fr framer
		errWhole := fr.feed(b, DefaultMaxMessageLen, func(m []byte) bool { whole = append(whole, bytes.Clone(m)); return true })
		var parts [][]byte
		var fr2 framer
		var errParts error
		for i, step := 0, 0; i < len(b) && errParts == nil; step++ {
			n := int(cut1)
			if step%2 == 1 {
				n = int(cut2)
			}
			n = max(1, min(n, len(b)-i))
			errParts = fr2.feed(b[i:i+n], DefaultMaxMessageLen, func(m []byte) bool { parts = append(parts, bytes.Clone(m)); return true })
			i += n
		}
		if (errWhole == nil) != (errParts == nil) || !reflect.DeepEqual(whole, parts) {
			t.Fatalf("whole: %d messages, %v; in parts: %d messages, %v", len(whole), errWhole, len(parts), errParts)
		}
		for _, m := range whole {
			if len(m) > DefaultMaxMessageLen {
				t.Fatalf("a message of %d bytes", len(m))
			}
		}
	})
}

// FuzzPeer feeds arbitrary bytes to an Established session: the peer must
// never panic, must close the connection when it drops the session, and must
// never write a message it could not decode itself.
func FuzzPeer(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newHarness(t, func(c *PeerConfig) { c.Limits.MaxPrefixes = 50 })
		tr, proto := h.toEstablished(90)
		tr.Clear()
		proto.DataReceived(b)
		if h.p.State() != Established && !tr.Disconnecting() {
			t.Fatalf("session %v but the connection is open", h.p.State())
		}
		for out := tr.Value(); len(out) > 0; {
			_, n, err := ParseMessage(out, Options{AS4: true})
			var ue *UpdateError
			if err != nil && !(errors.As(err, &ue) && ue.Action != SessionReset) {
				t.Fatalf("wrote a message that does not decode: %v", err)
			}
			out = out[n:]
		}
	})
}
