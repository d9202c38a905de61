package bgp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

var (
	localID  = netip.MustParseAddr("10.0.0.1")
	peerAddr = netip.MustParseAddr("192.0.2.2")
	lowerID  = netip.MustParseAddr("9.9.9.9")
	higherID = netip.MustParseAddr("11.11.11.11")
)

// harness drives a Peer with a fake clock and fake connections.
type harness struct {
	t       *testing.T
	clk     *twisttest.MemoryReactorClock
	p       *Peer
	changes []string
	notifs  []string
}

func newHarness(t *testing.T, mod func(*PeerConfig)) *harness {
	cfg := PeerConfig{Address: peerAddr, LocalAS: 65000, RemoteAS: 65001, RouterID: localID,
		ConnectRetryTime: 30 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	h := &harness{t: t, clk: twisttest.NewMemoryReactorClock()}
	h.p = NewPeer(cfg, h.clk, h.clk.ConnectTCP)
	h.p.OnStateChange = func(_ *Peer, from, to State, ev Event, _ error) {
		h.changes = append(h.changes, fmt.Sprintf("%v->%v on %v", from, to, ev))
	}
	h.p.OnNotification = func(_ *Peer, n *Notification, received bool) {
		dir := "sent"
		if received {
			dir = "received"
		}
		h.notifs = append(h.notifs, dir+" "+n.String())
	}
	return h
}

func (h *harness) wantState(s State) {
	h.t.Helper()
	if h.p.State() != s {
		h.t.Fatalf("state %v, want %v (changes %v)", h.p.State(), s, h.changes)
	}
}

// dialed returns the latest connection attempt.
func (h *harness) dialed() *twisttest.MemoryConnector {
	h.t.Helper()
	if len(h.clk.TCPClients) == 0 {
		h.t.Fatal("no connection attempt")
	}
	return h.clk.TCPClients[len(h.clk.TCPClients)-1]
}

// sent returns the messages written to tr since the last call.
func (h *harness) sent(tr *twisttest.StringTransport) []Message {
	h.t.Helper()
	b := tr.Value()
	tr.Clear()
	var ms []Message
	for len(b) > 0 {
		m, n, err := ParseMessage(b, Options{AS4: true})
		if err != nil {
			h.t.Fatalf("the peer wrote a bad message: %v\n%x", err, b)
		}
		ms = append(ms, m)
		b = b[n:]
	}
	return ms
}

func (h *harness) wantSent(tr *twisttest.StringTransport, types ...MessageType) []Message {
	h.t.Helper()
	ms := h.sent(tr)
	var got []MessageType
	for _, m := range ms {
		got = append(got, m.Type())
	}
	if !reflect.DeepEqual(got, types) {
		h.t.Fatalf("sent %v, want %v", got, types)
	}
	return ms
}

func (h *harness) wantNotification(tr *twisttest.StringTransport, code, sub uint8) {
	h.t.Helper()
	ms := h.wantSent(tr, TypeNotification)
	if n := ms[0].(*Notification); n.Code != code || n.Subcode != sub {
		h.t.Fatalf("sent %v, want %d/%d", n, code, sub)
	}
	if !tr.Disconnecting() {
		h.t.Fatal("connection left open")
	}
}

func feed(proto internet.Protocol, ms ...Message) {
	var b []byte
	for _, m := range ms {
		b = m.AppendMessage(b)
	}
	proto.DataReceived(b)
}

func peerOpen(id netip.Addr, hold uint16) *Open {
	return NewOpen(65001, hold, id, MultiprotocolCapability(IPv4Unicast), MultiprotocolCapability(IPv6Unicast))
}

// toOpenSent starts an active peer and completes its connection.
func (h *harness) toOpenSent() (*twisttest.StringTransport, internet.Protocol) {
	h.t.Helper()
	h.p.Start()
	h.wantState(Connect)
	tr := &twisttest.StringTransport{PeerAddr: &net.TCPAddr{IP: peerAddr.AsSlice(), Port: 179}}
	proto := h.dialed().Complete(tr)
	h.wantState(OpenSent)
	o := h.wantSent(tr, TypeOpen)[0].(*Open)
	if o.AS() != 65000 || o.HoldTime != 90 || o.ID != localID {
		h.t.Fatalf("our OPEN: %+v", o)
	}
	return tr, proto
}

func (h *harness) toEstablished(hold uint16) (*twisttest.StringTransport, internet.Protocol) {
	h.t.Helper()
	tr, proto := h.toOpenSent()
	feed(proto, peerOpen(higherID, hold))
	h.wantState(OpenConfirm)
	h.wantSent(tr, TypeKeepalive)
	feed(proto, Keepalive{})
	h.wantState(Established)
	return tr, proto
}

func TestActivePeerToEstablished(t *testing.T) {
	h := newHarness(t, nil)
	h.clk.Advance(time.Second)
	h.toEstablished(90)
	if a := h.dialed().Address; a != "192.0.2.2:179" {
		t.Errorf("dialed %q", a)
	}
	want := []string{"Idle->Connect on ManualStart", "Connect->OpenSent on Tcp_CR_Acked",
		"OpenSent->OpenConfirm on BGPOpen", "OpenConfirm->Established on KeepAliveMsg"}
	if !reflect.DeepEqual(h.changes, want) {
		t.Errorf("changes %v", h.changes)
	}
	c := h.p.Counters()
	if c.In[TypeOpen] != 1 || c.In[TypeKeepalive] != 1 || c.Out[TypeOpen] != 1 || c.Established != 1 {
		t.Errorf("counters %+v", c)
	}
	if !h.p.EstablishedAt().Equal(h.clk.Now()) || h.p.NegotiatedHoldTime() != 90*time.Second {
		t.Errorf("established at %v, hold %v", h.p.EstablishedAt(), h.p.NegotiatedHoldTime())
	}
}

func TestHoldTimeNegotiationAndExpiry(t *testing.T) {
	h := newHarness(t, nil)
	tr, _ := h.toEstablished(30)
	h.wantSent(tr, TypeUpdate, TypeUpdate) // the End-of-RIB markers went out on Established
	if h.p.NegotiatedHoldTime() != 30*time.Second {
		t.Fatalf("hold %v", h.p.NegotiatedHoldTime())
	}
	h.clk.Advance(10 * time.Second)
	h.wantSent(tr, TypeKeepalive)
	h.clk.Advance(10 * time.Second)
	h.wantSent(tr, TypeKeepalive)
	h.clk.Advance(10 * time.Second)
	h.wantNotification(tr, CodeHoldTimer, 0)
	h.wantState(Idle)
	// The IdleHoldTimer restarts the peer by itself.
	n := len(h.clk.TCPClients)
	h.clk.Advance(DefaultIdleHoldTime)
	h.wantState(Connect)
	if len(h.clk.TCPClients) != n+1 || h.changes[len(h.changes)-1] != "Idle->Connect on AutomaticStart" {
		t.Errorf("no automatic restart: %v", h.changes)
	}
}

func TestMessagesRestartHoldTimer(t *testing.T) {
	h := newHarness(t, nil)
	tr, proto := h.toEstablished(9)
	for range 5 {
		h.clk.Advance(8 * time.Second)
		feed(proto, Keepalive{})
	}
	h.wantState(Established)
	tr.Clear()
	h.clk.Advance(9 * time.Second)
	h.wantState(Idle)
}

func TestHoldTimeZero(t *testing.T) {
	h := newHarness(t, nil)
	tr, _ := h.toEstablished(0)
	tr.Clear()
	h.clk.Advance(time.Hour)
	h.wantState(Established)
	h.wantSent(tr)
}

func TestConnectFailsThenRetries(t *testing.T) {
	h := newHarness(t, nil)
	h.p.Start()
	h.dialed().Fail(internet.ErrConnectFailed)
	h.wantState(Idle)
	if h.p.Counters().ConnectRetry != 1 {
		t.Errorf("ConnectRetryCounter %d", h.p.Counters().ConnectRetry)
	}
	h.clk.Advance(DefaultIdleHoldTime)
	h.wantState(Connect)
	if len(h.clk.TCPClients) != 2 {
		t.Errorf("%d attempts", len(h.clk.TCPClients))
	}
}

func TestConnectRetryTimerInConnect(t *testing.T) {
	h := newHarness(t, nil)
	h.p.Start()
	first := h.dialed()
	h.clk.Advance(30 * time.Second)
	h.wantState(Connect)
	if len(h.clk.TCPClients) != 2 || first.State() != internet.Disconnected {
		t.Errorf("%d attempts, first %v", len(h.clk.TCPClients), first.State())
	}
}

func TestPassivePeer(t *testing.T) {
	h := newHarness(t, func(c *PeerConfig) { c.Passive = true })
	if h.p.Accept() != nil {
		t.Fatal("an Idle peer accepted a connection")
	}
	h.p.Start()
	h.wantState(Active)
	h.clk.Advance(time.Hour)
	h.wantState(Active)
	if len(h.clk.TCPClients) != 0 {
		t.Fatal("a passive peer connected")
	}
	s := NewSpeaker(h.p)
	if s.BuildProtocol(&net.TCPAddr{IP: net.ParseIP("192.0.2.99"), Port: 1}) != nil {
		t.Fatal("a stranger was accepted")
	}
	proto := s.BuildProtocol(&net.TCPAddr{IP: peerAddr.AsSlice(), Port: 40000})
	tr := &twisttest.StringTransport{}
	proto.ConnectionMade(tr)
	h.wantState(OpenSent)
	h.wantSent(tr, TypeOpen)
	if h.changes[1] != "Active->OpenSent on TcpConnectionConfirmed" {
		t.Errorf("changes %v", h.changes)
	}
	proto.ConnectionLost(internet.ErrConnectionDone)
	h.wantState(Active)
}

func TestDelayOpen(t *testing.T) {
	t.Run("peer's OPEN first", func(t *testing.T) {
		h := newHarness(t, func(c *PeerConfig) { c.DelayOpenTime = 5 * time.Second })
		h.p.Start()
		tr := &twisttest.StringTransport{}
		proto := h.dialed().Complete(tr)
		h.wantState(Connect)
		h.wantSent(tr)
		feed(proto, peerOpen(higherID, 90))
		h.wantState(OpenConfirm)
		h.wantSent(tr, TypeOpen, TypeKeepalive)
		if h.changes[1] != "Connect->OpenConfirm on BGPOpen with DelayOpenTimer running" {
			t.Errorf("changes %v", h.changes)
		}
	})
	t.Run("timer first", func(t *testing.T) {
		h := newHarness(t, func(c *PeerConfig) { c.DelayOpenTime = 5 * time.Second })
		h.p.Start()
		tr := &twisttest.StringTransport{}
		h.dialed().Complete(tr)
		h.clk.Advance(5 * time.Second)
		h.wantState(OpenSent)
		h.wantSent(tr, TypeOpen)
	})
}

func TestUnexpectedMessages(t *testing.T) {
	tests := []struct {
		name  string
		state State
		msg   Message
		code  uint8
		sub   uint8
	}{
		{"KEEPALIVE in OpenSent", OpenSent, Keepalive{}, CodeFSM, SubUnexpectedInOpenSent},
		{"UPDATE in OpenSent", OpenSent, &Update{}, CodeFSM, SubUnexpectedInOpenSent},
		{"UPDATE in OpenConfirm", OpenConfirm, &Update{}, CodeFSM, SubUnexpectedInOpenConfirm},
		{"OPEN in OpenConfirm", OpenConfirm, peerOpen(higherID, 90), CodeFSM, SubUnexpectedInOpenConfirm},
		{"OPEN in Established", Established, peerOpen(higherID, 90), CodeFSM, SubUnexpectedInEstablished},
		{"ROUTE-REFRESH in OpenConfirm", OpenConfirm, &RouteRefresh{Family: IPv4Unicast}, CodeFSM, SubUnexpectedInOpenConfirm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tr, proto := h.toOpenSent()
			if tt.state >= OpenConfirm {
				feed(proto, peerOpen(higherID, 90))
			}
			if tt.state == Established {
				feed(proto, Keepalive{})
			}
			h.wantState(tt.state)
			tr.Clear()
			feed(proto, tt.msg)
			h.wantNotification(tr, tt.code, tt.sub)
			h.wantState(Idle)
		})
	}
}

func TestOpenChecks(t *testing.T) {
	tests := []struct {
		name string
		open *Open
		sub  uint8
	}{
		{"bad peer AS", NewOpen(65099, 90, higherID), SubBadPeerAS},
		{"same identifier on iBGP", NewOpen(65000, 90, localID), SubBadBGPIdentifier},
		{"hold time 1", &Open{MyAS: 65001, HoldTime: 1, ID: higherID}, SubUnacceptableHoldTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *PeerConfig) {
				if tt.sub == SubBadBGPIdentifier {
					c.RemoteAS = 65000
				}
			})
			tr, proto := h.toOpenSent()
			feed(proto, tt.open)
			h.wantNotification(tr, CodeOpen, tt.sub)
			h.wantState(Idle)
		})
	}
}

func TestHeaderErrorCloses(t *testing.T) {
	h := newHarness(t, nil)
	tr, proto := h.toEstablished(90)
	tr.Clear()
	msg := Keepalive{}.AppendMessage(nil)
	msg[0] = 0
	proto.DataReceived(msg)
	h.wantNotification(tr, CodeHeader, SubConnectionNotSynchronized)
	if h.changes[len(h.changes)-1] != "Established->Idle on BGPHeaderErr" {
		t.Errorf("changes %v", h.changes)
	}
}

func TestNotificationReceived(t *testing.T) {
	h := newHarness(t, nil)
	tr, proto := h.toEstablished(90)
	tr.Clear()
	feed(proto, AdminShutdown("going down for maintenance"))
	h.wantState(Idle)
	h.wantSent(tr)
	want := `received Cease: Administrative Shutdown ("going down for maintenance")`
	if len(h.notifs) != 1 || h.notifs[0] != want {
		t.Errorf("notifications %q", h.notifs)
	}
	var n *Notification
	if !errors.As(h.p.LastError(), &n) || n.Subcode != SubAdminShutdown {
		t.Errorf("last error %v", h.p.LastError())
	}
}

func TestOpenSentConnectionLost(t *testing.T) {
	h := newHarness(t, nil)
	_, proto := h.toOpenSent()
	proto.ConnectionLost(internet.ErrConnectionLost)
	h.wantState(Active)
	h.clk.Advance(30 * time.Second) // ConnectRetryTimer: an active peer connects again
	h.wantState(Connect)
	if len(h.clk.TCPClients) != 2 {
		t.Errorf("%d attempts", len(h.clk.TCPClients))
	}
}

func TestManualStop(t *testing.T) {
	h := newHarness(t, nil)
	tr, _ := h.toEstablished(90)
	tr.Clear()
	h.p.Stop("bye")
	h.wantNotification(tr, CodeCease, SubAdminShutdown)
	h.wantState(Idle)
	h.clk.Advance(time.Hour)
	h.wantState(Idle)
}

func TestCollision(t *testing.T) {
	tests := []struct {
		name        string
		remoteID    netip.Addr
		keepInbound bool
	}{
		{"peer has the higher identifier", higherID, true},
		{"we have the higher identifier", lowerID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			outTr, outProto := h.toOpenSent()
			inProto := h.p.Accept()
			inTr := &twisttest.StringTransport{}
			inProto.ConnectionMade(inTr)
			h.wantSent(inTr, TypeOpen)
			feed(inProto, peerOpen(tt.remoteID, 90))
			loser, winner := inTr, outTr
			if tt.keepInbound {
				loser, winner = outTr, inTr
			}
			h.wantNotification(loser, CodeCease, SubCollisionResolution)
			if tt.keepInbound {
				h.wantState(OpenConfirm)
				h.wantSent(winner, TypeKeepalive)
				outProto.ConnectionLost(internet.ErrConnectionDone) // the dumped one goes
				feed(inProto, Keepalive{})
			} else {
				h.wantState(OpenSent)
				inProto.ConnectionLost(internet.ErrConnectionDone)
				feed(outProto, peerOpen(tt.remoteID, 90), Keepalive{})
				h.wantSent(winner, TypeKeepalive, TypeUpdate, TypeUpdate)
			}
			h.wantState(Established)
		})
	}
}

func TestConnectionWhileEstablishedRejected(t *testing.T) {
	h := newHarness(t, nil)
	h.toEstablished(90)
	proto := h.p.Accept()
	tr := &twisttest.StringTransport{}
	proto.ConnectionMade(tr)
	h.wantNotification(tr, CodeCease, SubCollisionResolution)
	h.wantState(Established)
}

func TestAdjRIBIn(t *testing.T) {
	h := newHarness(t, func(c *PeerConfig) { c.Limits.MaxPrefixes = 4 })
	tr, proto := h.toEstablished(90)
	tr.Clear()
	a := &Attributes{ASPath: []ASPathSegment{{ASSequence, []uint32{65001}}}, NextHop: nh4, NextHop6: nh6}
	feed(proto, &Update{Attrs: a, NLRI: pfx("10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32")})
	feed(proto, &Update{Withdrawn: pfx("10.1.0.0/16")})
	if v4, v6 := h.p.RIB().Count(); v4 != 1 || v6 != 1 {
		t.Fatalf("RIB has %d IPv4 and %d IPv6 routes", v4, v6)
	}
	got, ok := h.p.RIB().Lookup(netip.MustParsePrefix("2001:db8::/32"))
	if !ok || got.NextHop6 != nh6 || got.ASPath[0].ASNs[0] != 65001 {
		t.Fatalf("route %+v", got)
	}
	// Treat-as-withdraw: an UPDATE without ORIGIN withdraws its routes.
	b := base(AttrOrigin, nil)
	proto.DataReceived(b.message())
	h.wantState(Established)
	if _, ok := h.p.RIB().Lookup(netip.MustParsePrefix("10.0.0.0/8")); ok || h.p.Counters().TreatedAsWithdraw != 1 {
		t.Fatalf("treat-as-withdraw left the route")
	}
	feed(proto, &Update{Attrs: a, NLRI: pfx("10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16")})
	h.wantNotification(tr, CodeCease, SubMaxPrefixes)
	if h.p.RIB().Len() != 0 {
		t.Fatal("routes kept after the session ended")
	}
}

func TestMalformedUpdateResets(t *testing.T) {
	h := newHarness(t, nil)
	tr, proto := h.toEstablished(90)
	tr.Clear()
	proto.DataReceived(base(0, func(b *updateBuilder) { b.attr(FlagOptional, AttrMPReach, 0, 2) }).message())
	h.wantNotification(tr, CodeUpdate, SubOptionalAttributeError)
	if h.changes[len(h.changes)-1] != "Established->Idle on UpdateMsgErr" {
		t.Errorf("changes %v", h.changes)
	}
}

func TestAnnounceAndWithdraw(t *testing.T) {
	h := newHarness(t, nil)
	a := &Attributes{Origin: OriginIGP, HasLocalPref: true, LocalPref: 50, Communities: []uint32{1}}
	many := make([]netip.Prefix, 2000)
	for i := range many {
		many[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
	}
	h.p.Announce(a, many...)
	h.p.Announce(a, pfx("2001:db8::/48")...)
	tr, proto := h.toEstablished(90)
	var got []netip.Prefix
	ms := h.sent(tr)
	for _, m := range ms[:len(ms)-2] {
		u := m.(*Update)
		got = append(got, u.NLRI...)
		e := u.Attrs
		if e.ASPath[0].ASNs[0] != 65000 || e.HasLocalPref || e.Communities[0] != 1 {
			t.Fatalf("exported attributes %+v", e)
		}
		if e.NextHop != netip.MustParseAddr("10.0.0.1") && e.NextHop6 != netip.MustParseAddr("::ffff:10.0.0.1") {
			t.Fatalf("next hops %v %v", e.NextHop, e.NextHop6)
		}
	}
	if len(got) != 2001 || len(ms) < 4 {
		t.Fatalf("%d routes in %d messages", len(got), len(ms))
	}
	for _, m := range ms[len(ms)-2:] {
		if m.(*Update).EndOfRIB == nil {
			t.Fatalf("no End-of-RIB: %+v", m)
		}
	}
	h.p.Withdraw(pfx("10.0.1.0/24", "2001:db8::/48", "172.16.0.0/12")...)
	ms = h.wantSent(tr, TypeUpdate, TypeUpdate)
	if w := append(ms[0].(*Update).Withdrawn, ms[1].(*Update).Withdrawn...); !reflect.DeepEqual(w, pfx("10.0.1.0/24", "2001:db8::/48")) {
		t.Errorf("withdrawn %v", w)
	}
	feed(proto, &RouteRefresh{Family: IPv4Unicast})
	if ms := h.sent(tr); len(ms) < 3 || h.p.Announced() != 1999 {
		t.Errorf("route refresh: %d messages, %d announced", len(ms), h.p.Announced())
	}
}

func TestMessagesSplitAnywhere(t *testing.T) {
	h := newHarness(t, nil)
	tr, proto := h.toOpenSent()
	var b []byte
	b = peerOpen(higherID, 90).AppendMessage(b)
	b = Keepalive{}.AppendMessage(b)
	b = (&Update{Attrs: &Attributes{NextHop: nh4}, NLRI: pfx("10.0.0.0/8")}).AppendMessage(b)
	for i := range b {
		proto.DataReceived(b[i : i+1])
	}
	h.wantState(Established)
	if h.p.RIB().Len() != 1 {
		t.Errorf("RIB %d", h.p.RIB().Len())
	}
	_ = tr
}
