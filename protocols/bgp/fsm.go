package bgp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
)

// State is a state of the FSM (RFC 4271 §8.2.2).
type State uint8

// The states.
const (
	Idle State = iota
	Connect
	Active
	OpenSent
	OpenConfirm
	Established
)

var stateNames = [...]string{"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Event is an FSM event, numbered as RFC 4271 §8.1 numbers them. Peer
// reports the event behind each state change.
type Event uint8

// The events that apply to this implementation (6 and 7, the TCP options,
// and 15, the invalid connection, do not).
const (
	ManualStart              Event = 1
	ManualStop               Event = 2
	AutomaticStart           Event = 3
	ManualStartPassive       Event = 4
	AutomaticStartPassive    Event = 5
	AutomaticStop            Event = 8
	ConnectRetryTimerExpires Event = 9
	HoldTimerExpires         Event = 10
	KeepaliveTimerExpires    Event = 11
	DelayOpenTimerExpires    Event = 12
	IdleHoldTimerExpires     Event = 13
	TCPCRAcked               Event = 16
	TCPConnectionConfirmed   Event = 17
	TCPConnectionFails       Event = 18
	BGPOpen                  Event = 19
	BGPOpenWithDelayOpen     Event = 20
	BGPHeaderErr             Event = 21
	BGPOpenMsgErr            Event = 22
	OpenCollisionDump        Event = 23
	NotifMsgVerErr           Event = 24
	NotifMsg                 Event = 25
	KeepAliveMsg             Event = 26
	UpdateMsg                Event = 27
	UpdateMsgErr             Event = 28
)

var eventNames = map[Event]string{
	ManualStart: "ManualStart", ManualStop: "ManualStop", AutomaticStart: "AutomaticStart",
	ManualStartPassive: "ManualStart_with_PassiveTcpEstablishment", AutomaticStartPassive: "AutomaticStart_with_PassiveTcpEstablishment",
	AutomaticStop: "AutomaticStop", ConnectRetryTimerExpires: "ConnectRetryTimer_Expires",
	HoldTimerExpires: "HoldTimer_Expires", KeepaliveTimerExpires: "KeepaliveTimer_Expires",
	DelayOpenTimerExpires: "DelayOpenTimer_Expires", IdleHoldTimerExpires: "IdleHoldTimer_Expires",
	TCPCRAcked: "Tcp_CR_Acked", TCPConnectionConfirmed: "TcpConnectionConfirmed", TCPConnectionFails: "TcpConnectionFails",
	BGPOpen: "BGPOpen", BGPOpenWithDelayOpen: "BGPOpen with DelayOpenTimer running", BGPHeaderErr: "BGPHeaderErr",
	BGPOpenMsgErr: "BGPOpenMsgErr", OpenCollisionDump: "OpenCollisionDump", NotifMsgVerErr: "NotifMsgVerErr",
	NotifMsg: "NotifMsg", KeepAliveMsg: "KeepAliveMsg", UpdateMsg: "UpdateMsg", UpdateMsgErr: "UpdateMsgErr",
}

func (e Event) String() string {
	if s, ok := eventNames[e]; ok {
		return s
	}
	return "Event(" + strconv.Itoa(int(e)) + ")"
}

// Defaults of PeerConfig (RFC 4271 §10's suggested values where it has one).
const (
	DefaultHoldTime         = 90 * time.Second
	DefaultConnectRetryTime = 120 * time.Second
	DefaultIdleHoldTime     = 5 * time.Second
	// openSentHoldTime is the "large value" of §8.2.2 the hold timer has
	// while an OPEN is awaited.
	openSentHoldTime = 4 * time.Minute
	defaultPort      = 179
)

// PeerConfig configures a Peer.
type PeerConfig struct {
	// Address is the peer's address; Port its port, 0 meaning 179.
	Address netip.Addr
	Port    int
	// LocalAddr, if set, is the address connections to the peer are made
	// from.
	LocalAddr netip.Addr
	// LocalAS and RemoteAS are the two ASes; RemoteAS 0 accepts any.
	LocalAS, RemoteAS uint32
	// RouterID is the local BGP identifier, an IPv4 address.
	RouterID netip.Addr
	// HoldTime is the hold time proposed; 0 means DefaultHoldTime and a
	// negative value proposes 0 (no KEEPALIVEs, no hold timer). The
	// session uses the smaller of the two proposals.
	HoldTime time.Duration
	// ConnectRetryTime is the ConnectRetryTimer's initial value; 0 means
	// DefaultConnectRetryTime.
	ConnectRetryTime time.Duration
	// IdleHoldTime is how long the peer stays Idle after an error before
	// it starts again by itself (RFC 4271 §8.1.1's IdleHoldTimer); 0 means
	// DefaultIdleHoldTime. A ManualStop is never followed by a restart.
	IdleHoldTime time.Duration
	// DelayOpenTime, if set, delays the OPEN after the connection is up
	// until it runs out or the peer's OPEN arrives (DelayOpen).
	DelayOpenTime time.Duration
	// Passive peers never connect: they wait in Active for the peer to.
	Passive bool
	// Families are announced in multiprotocol capabilities; nil means IPv4
	// and IPv6 unicast.
	Families []Family
	// Hostname, if set, is sent in the hostname (FQDN) capability.
	Hostname string
	// NextHop6 is the next hop of IPv6 routes announced without one; when
	// it is not set either, the session's local address is used (an IPv4
	// one mapped into IPv6).
	NextHop6 netip.Addr
	// Limits bound what the peer can make us hold.
	Limits Limits
	// Logger receives the state changes and the NOTIFICATIONs;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Counters count a peer's messages and sessions.
type Counters struct {
	// In and Out count messages by MessageType.
	In, Out [6]uint64
	// ConnectRetry is RFC 4271's ConnectRetryCounter: sessions that ended
	// in an error since the last ManualStop.
	ConnectRetry uint32
	// Established counts the times the session reached Established.
	Established uint32
	// TreatedAsWithdraw counts malformed UPDATEs whose routes were
	// withdrawn (RFC 7606).
	TreatedAsWithdraw uint64
}

// A Dialer starts a TCP connection attempt to addr ("host:port") for f.
// A *reactor.Reactor's is a call to internet.ConnectTCP;
// twisttest.MemoryReactor's ConnectTCP is one for tests.
type Dialer func(addr string, f internet.ClientFactory, opts ...internet.ConnectOption) internet.Connector

// Peer is one BGP neighbour: the FSM of RFC 4271 §8 with its timers, the
// connection it runs on, the routes the neighbour sent (AdjRIBIn) and those
// announced to it. Its methods and callbacks run on one loop: the clock's.
type Peer struct {
	// OnStateChange, if set, is called after each state change, with the
	// event behind it and, when the change is an error, the error.
	OnStateChange func(p *Peer, from, to State, ev Event, err error)
	// OnNotification, if set, is called with each NOTIFICATION received
	// from the peer or sent to it.
	OnNotification func(p *Peer, n *Notification, received bool)

	cfg   PeerConfig
	clock clock.Clock
	dial  Dialer
	log   *slog.Logger

	state     State
	conn      *conn // the connection the FSM runs on
	other     *conn // a second connection, until collision detection picks one
	connector internet.Connector
	stopped   bool

	connectRetry, hold, keepalive, delayOpen, idleHold clock.DelayedCall
	holdTime                                           time.Duration

	opts          Options
	remote        *Open
	rib           *AdjRIBIn
	out           map[netip.Prefix]*Attributes
	counters      Counters
	establishedAt time.Time
	lastErr       error
	wbuf          []byte
}

// NewPeer returns a Peer in Idle; Start starts it. dial may be nil for a
// passive peer.
func NewPeer(cfg PeerConfig, clk clock.Clock, dial Dialer) *Peer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Families == nil {
		cfg.Families = []Family{IPv4Unicast, IPv6Unicast}
	}
	return &Peer{cfg: cfg, clock: clk, dial: dial, rib: newAdjRIBIn(), out: make(map[netip.Prefix]*Attributes),
		log: cfg.Logger.With("peer", cfg.Address.String())}
}

// Config returns the peer's configuration.
func (p *Peer) Config() PeerConfig { return p.cfg }

// State returns the FSM's state.
func (p *Peer) State() State { return p.state }

// Counters returns the peer's counters.
func (p *Peer) Counters() Counters { return p.counters }

// RIB returns the routes the peer sent (cleared when the session ends).
func (p *Peer) RIB() *AdjRIBIn { return p.rib }

// Announced returns the number of routes announced to the peer.
func (p *Peer) Announced() int { return len(p.out) }

// EstablishedAt returns when the session last reached Established.
func (p *Peer) EstablishedAt() time.Time { return p.establishedAt }

// RemoteOpen returns the OPEN of the current session, or nil.
func (p *Peer) RemoteOpen() *Open { return p.remote }

// LastError returns why the last session ended, or nil.
func (p *Peer) LastError() error { return p.lastErr }

// NegotiatedHoldTime returns the session's hold time.
func (p *Peer) NegotiatedHoldTime() time.Duration { return p.holdTime }

func (p *Peer) addr() string {
	port := p.cfg.Port
	if port == 0 {
		port = defaultPort
	}
	return net.JoinHostPort(p.cfg.Address.String(), strconv.Itoa(port))
}

func (p *Peer) duration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Start starts the FSM: ManualStart, or ManualStart with passive TCP
// establishment for a passive peer. It does nothing unless the peer is Idle.
func (p *Peer) Start() {
	p.stopped = false
	p.ConnectRetryReset()
	if p.cfg.Passive {
		p.start(ManualStartPassive)
	} else {
		p.start(ManualStart)
	}
}

// ConnectRetryReset sets the ConnectRetryCounter to zero.
func (p *Peer) ConnectRetryReset() { p.counters.ConnectRetry = 0 }

// start handles events 1, 3, 4 and 5 in Idle.
func (p *Peer) start(ev Event) {
	if p.state != Idle {
		return
	}
	cancel(&p.idleHold)
	p.connectRetry = p.restart(p.connectRetry, p.duration(p.cfg.ConnectRetryTime, DefaultConnectRetryTime), p.connectRetryExpired)
	if ev == ManualStartPassive || ev == AutomaticStartPassive {
		p.setState(Active, ev, nil)
		return
	}
	p.connect()
	p.setState(Connect, ev, nil)
}

// Stop is ManualStop: a Cease "Administrative Shutdown" with msg (RFC 9003)
// if an OPEN was sent, the connections closed, the routes dropped, and no
// restart until Start.
func (p *Peer) Stop(msg string) {
	p.stopped = true
	if p.state == Idle {
		cancel(&p.idleHold)
		return
	}
	p.toIdle(ManualStop, AdminShutdown(msg), nil)
	p.counters.ConnectRetry = 0
}

// connect starts a TCP connection attempt.
func (p *Peer) connect() {
	if p.dial == nil {
		return
	}
	var opts []internet.ConnectOption
	if p.cfg.LocalAddr.IsValid() {
		opts = append(opts, internet.WithBindAddr(net.JoinHostPort(p.cfg.LocalAddr.String(), "0")))
	}
	p.connector = p.dial(p.addr(), dialFactory{p}, opts...)
}

func (p *Peer) stopConnecting() {
	if c := p.connector; c != nil {
		p.connector = nil
		c.Disconnect()
	}
}

// restart cancels dc and schedules f after d.
func (p *Peer) restart(dc clock.DelayedCall, d time.Duration, f func()) clock.DelayedCall {
	if dc != nil && dc.Active() {
		if dc.Reset(d) == nil {
			return dc
		}
	}
	return p.clock.CallLater(d, f)
}

func cancel(dc *clock.DelayedCall) {
	if *dc != nil && (*dc).Active() {
		(*dc).Cancel()
	}
	*dc = nil
}

func running(dc clock.DelayedCall) bool { return dc != nil && dc.Active() }

func (p *Peer) setState(s State, ev Event, err error) {
	from := p.state
	if from == s {
		return
	}
	p.state = s
	if s == Established {
		p.establishedAt = p.clock.Now()
		p.counters.Established++
	}
	if err != nil {
		p.log.Info("bgp: state "+from.String()+" -> "+s.String(), "event", ev.String(), "error", err)
	} else {
		p.log.Info("bgp: state "+from.String()+" -> "+s.String(), "event", ev.String())
	}
	if p.OnStateChange != nil {
		p.OnStateChange(p, from, s, ev, err)
	}
}

// toIdle ends the session: it sends n if an OPEN went out on the
// connection, closes the connections, stops the timers, drops the routes,
// and unless the stop was manual, restarts after IdleHoldTime.
func (p *Peer) toIdle(ev Event, n *Notification, err error) {
	if err == nil && n != nil {
		err = n
	}
	for _, c := range []*conn{p.conn, p.other} {
		if c != nil {
			if n != nil && c.openSent {
				p.send(c, n)
			}
			c.close()
		}
	}
	p.conn, p.other = nil, nil
	p.stopConnecting()
	cancel(&p.connectRetry)
	cancel(&p.hold)
	cancel(&p.keepalive)
	cancel(&p.delayOpen)
	if p.rib.Len() > 0 {
		p.rib.clear()
	}
	p.remote = nil
	if ev != ManualStop {
		p.counters.ConnectRetry++
	}
	if err != nil {
		p.lastErr = err
	}
	p.setState(Idle, ev, err)
	if !p.stopped {
		ev := AutomaticStart
		if p.cfg.Passive {
			ev = AutomaticStartPassive
		}
		p.idleHold = p.clock.CallLater(p.duration(p.cfg.IdleHoldTime, DefaultIdleHoldTime), func() {
			p.idleHold = nil
			p.start(ev)
		})
	}
}

// send writes m on c and counts it.
func (p *Peer) send(c *conn, m Message) {
	if u, ok := m.(*Update); ok {
		p.wbuf = u.Append(p.wbuf[:0], p.opts)
	} else {
		p.wbuf = m.AppendMessage(p.wbuf[:0])
	}
	p.write(c, m.Type(), p.wbuf)
	if n, ok := m.(*Notification); ok {
		p.log.Warn("bgp: NOTIFICATION sent: " + n.String())
		if p.OnNotification != nil {
			p.OnNotification(p, n, false)
		}
	}
}

func (p *Peer) write(c *conn, t MessageType, b []byte) {
	if c.closed {
		return
	}
	c.t.Write(b)
	if int(t) < len(p.counters.Out) {
		p.counters.Out[t]++
	}
	if c == p.conn && (t == TypeKeepalive || t == TypeUpdate) && running(p.keepalive) {
		p.keepalive.Reset(p.holdTime / 3)
	}
}

func (p *Peer) localOpen() *Open {
	var caps []Capability
	for _, f := range p.cfg.Families {
		caps = append(caps, MultiprotocolCapability(f))
	}
	caps = append(caps, RouteRefreshCapability(), EnhancedRouteRefreshCapability())
	if p.cfg.Hostname != "" {
		caps = append(caps, FQDNCapability(p.cfg.Hostname, ""))
	}
	hold := p.duration(p.cfg.HoldTime, DefaultHoldTime)
	return NewOpen(p.cfg.LocalAS, uint16(max(hold, 0)/time.Second), p.cfg.RouterID, caps...)
}

func (p *Peer) sendOpen(c *conn) {
	c.openSent = true
	p.send(c, p.localOpen())
}

// connectionMade is Tcp_CR_Acked (outbound) or TcpConnectionConfirmed.
func (p *Peer) connectionMade(c *conn) {
	ev := TCPConnectionConfirmed
	if c.outbound {
		ev = TCPCRAcked
	}
	switch p.state {
	case Connect, Active:
		if p.conn != nil {
			break
		}
		p.conn = c
		if !c.outbound {
			p.stopConnecting()
		} else {
			p.connector = nil
		}
		cancel(&p.connectRetry)
		if p.cfg.DelayOpenTime > 0 {
			p.delayOpen = p.clock.CallLater(p.cfg.DelayOpenTime, p.delayOpenExpired)
			return
		}
		p.sendOpen(c)
		p.hold = p.restart(p.hold, openSentHoldTime, p.holdExpired)
		p.setState(OpenSent, ev, nil)
		return
	case OpenSent, OpenConfirm:
		if p.other == nil {
			// Collision detection decides between the two once an OPEN
			// tells the peer's identifier (§6.8).
			p.other = c
			p.sendOpen(c)
			if p.remote != nil {
				p.resolveCollision()
			}
			return
		}
	case Established:
		c.openSent = true // the NOTIFICATION goes out without an OPEN
		p.send(c, newNotification(CodeCease, SubCollisionResolution, nil))
	}
	c.close()
}

// connectionLost is TcpConnectionFails for the FSM's connection.
func (p *Peer) connectionLost(c *conn, reason error) {
	if c == p.other {
		p.other = nil
		return
	}
	if c != p.conn {
		return
	}
	err := fmt.Errorf("bgp: connection lost: %w", reason)
	if p.other != nil {
		// The other connection carries on.
		p.conn, p.other = p.other, nil
		p.remote = p.conn.open
		if p.remote != nil {
			p.openReceived(p.remote, BGPOpen)
		} else {
			p.setState(OpenSent, TCPConnectionFails, err)
		}
		return
	}
	p.conn = nil
	switch p.state {
	case Connect, Active:
		if running(p.delayOpen) && p.state == Connect {
			cancel(&p.delayOpen)
			p.connectRetry = p.restart(p.connectRetry, p.duration(p.cfg.ConnectRetryTime, DefaultConnectRetryTime), p.connectRetryExpired)
			p.setState(Active, TCPConnectionFails, err)
			return
		}
	case OpenSent:
		cancel(&p.hold)
		p.connectRetry = p.restart(p.connectRetry, p.duration(p.cfg.ConnectRetryTime, DefaultConnectRetryTime), p.connectRetryExpired)
		p.lastErr = err
		p.setState(Active, TCPConnectionFails, err)
		return
	}
	p.toIdle(TCPConnectionFails, nil, err)
}

// connectFailed is TcpConnectionFails for an attempt to connect.
func (p *Peer) connectFailed(c internet.Connector, reason error) {
	if c != p.connector {
		return
	}
	p.connector = nil
	if p.state == Connect && p.conn == nil {
		p.toIdle(TCPConnectionFails, nil, reason)
	}
}

func (p *Peer) connectRetryExpired() {
	p.connectRetry = nil
	switch p.state {
	case Connect:
		p.stopConnecting()
		cancel(&p.delayOpen)
		if p.conn != nil {
			p.conn.close()
			p.conn = nil
		}
		p.connectRetry = p.clock.CallLater(p.duration(p.cfg.ConnectRetryTime, DefaultConnectRetryTime), p.connectRetryExpired)
		p.connect()
	case Active:
		p.connectRetry = p.clock.CallLater(p.duration(p.cfg.ConnectRetryTime, DefaultConnectRetryTime), p.connectRetryExpired)
		if !p.cfg.Passive {
			p.connect()
			p.setState(Connect, ConnectRetryTimerExpires, nil)
		}
	}
}

func (p *Peer) delayOpenExpired() {
	p.delayOpen = nil
	if p.conn == nil || (p.state != Connect && p.state != Active) {
		return
	}
	p.sendOpen(p.conn)
	p.hold = p.restart(p.hold, openSentHoldTime, p.holdExpired)
	p.setState(OpenSent, DelayOpenTimerExpires, nil)
}

func (p *Peer) holdExpired() {
	p.hold = nil
	p.toIdle(HoldTimerExpires, newNotification(CodeHoldTimer, 0, nil), nil)
}

func (p *Peer) keepaliveExpired() {
	p.keepalive = nil
	if p.conn == nil {
		return
	}
	p.send(p.conn, Keepalive{})
	p.keepalive = p.clock.CallLater(p.holdTime/3, p.keepaliveExpired)
}

// fsmError is the NOTIFICATION for an unexpected message (RFC 6608).
func (p *Peer) fsmError() *Notification {
	sub := map[State]uint8{OpenSent: SubUnexpectedInOpenSent, OpenConfirm: SubUnexpectedInOpenConfirm,
		Established: SubUnexpectedInEstablished}[p.state]
	return newNotification(CodeFSM, sub, nil)
}

// received handles a whole message from c. It returns false once c is
// closed.
func (p *Peer) received(c *conn, raw []byte) bool {
	m, _, err := ParseMessage(raw, p.opts)
	if t := raw[18]; int(t) < len(p.counters.In) {
		p.counters.In[t]++
	}
	if n, ok := m.(*Notification); ok && err == nil {
		// Data points into the read buffer.
		n = &Notification{Code: n.Code, Subcode: n.Subcode, Data: append([]byte(nil), n.Data...)}
		p.log.Warn("bgp: NOTIFICATION received: " + n.String())
		if p.OnNotification != nil {
			p.OnNotification(p, n, true)
		}
		m = n
	}
	if c != p.conn {
		p.receivedOther(c, m, err)
		return !c.closed
	}
	var ue *UpdateError
	if err != nil && !(errors.As(err, &ue) && ue.Action != SessionReset) {
		var n *Notification
		errors.As(err, &n)
		ev := BGPOpenMsgErr
		switch {
		case ue != nil:
			ev = UpdateMsgErr
		case n.Code == CodeHeader:
			ev = BGPHeaderErr
		}
		if p.state == Connect || p.state == Active {
			c.openSent = true // §8.2.1.5: SendNOTIFICATIONwithoutOPEN
		}
		p.toIdle(ev, n, nil)
		return false
	}
	if p.state == Established && p.holdTime > 0 {
		p.hold = p.restart(p.hold, p.holdTime, p.holdExpired)
	}
	switch m := m.(type) {
	case *Notification:
		ev := NotifMsg
		if m.Code == CodeOpen && m.Subcode == SubUnsupportedVersion {
			ev = NotifMsgVerErr
		}
		p.toIdle(ev, nil, &NotificationReceived{m})
	case *Open:
		switch {
		case (p.state == Connect || p.state == Active) && running(p.delayOpen):
			cancel(&p.delayOpen)
			p.sendOpen(c)
			p.openReceived(m, BGPOpenWithDelayOpen)
		case p.state == OpenSent:
			p.openReceived(m, BGPOpen)
		default:
			p.toIdle(BGPOpen, p.fsmError(), nil)
		}
	case Keepalive:
		switch p.state {
		case OpenConfirm:
			if p.holdTime > 0 {
				p.hold = p.restart(p.hold, p.holdTime, p.holdExpired)
			}
			p.setState(Established, KeepAliveMsg, nil)
			if p.state == Established {
				p.sendAll()
			}
		case Established:
		default:
			p.toIdle(KeepAliveMsg, p.fsmError(), nil)
		}
	case *Update:
		if p.state != Established {
			p.toIdle(UpdateMsg, p.fsmError(), nil)
			break
		}
		if ue != nil {
			p.log.Warn("bgp: malformed UPDATE: " + ue.Error())
			if ue.Action == TreatAsWithdraw {
				p.counters.TreatedAsWithdraw++
			}
		}
		p.apply(m)
	case *RouteRefresh:
		if p.state != Established {
			p.toIdle(UpdateMsg, p.fsmError(), nil)
			break
		}
		if m.Subtype == 0 {
			p.sendAll()
		}
	}
	return !c.closed
}

// receivedOther handles a message on the second connection of a collision.
func (p *Peer) receivedOther(c *conn, m Message, err error) {
	o, ok := m.(*Open)
	switch {
	case err != nil:
		var n *Notification
		errors.As(err, &n)
		p.send(c, n)
	case ok:
		if n := p.checkOpen(o); n != nil {
			p.send(c, n)
			break
		}
		c.open = o
		p.resolveCollision()
		return
	case m.Type() != TypeNotification:
		p.send(c, newNotification(CodeFSM, SubUnexpectedInOpenSent, nil))
	}
	c.close()
	p.other = nil
}

// resolveCollision keeps, of two connections to the same peer, the one
// opened by the speaker with the higher BGP identifier (§6.8), once the
// peer's identifier is known.
func (p *Peer) resolveCollision() {
	var remoteID netip.Addr
	switch {
	case p.remote != nil:
		remoteID = p.remote.ID
	case p.other.open != nil:
		remoteID = p.other.open.ID
	default:
		return
	}
	keepOutbound := p.cfg.RouterID.Compare(remoteID) > 0
	dump := p.other
	if p.conn.outbound != keepOutbound && p.other.outbound == keepOutbound {
		dump = p.conn
	}
	p.send(dump, newNotification(CodeCease, SubCollisionResolution, nil))
	dump.close()
	p.log.Info("bgp: connection collision resolved", "kept outbound", keepOutbound)
	if dump == p.other {
		p.other = nil
		return
	}
	p.conn, p.other = p.other, nil
	p.remote = nil
	if p.conn.open != nil {
		if p.state == OpenConfirm {
			p.state = OpenSent // the new connection has not confirmed yet
		}
		p.openReceived(p.conn.open, OpenCollisionDump)
	} else {
		p.hold = p.restart(p.hold, openSentHoldTime, p.holdExpired)
		p.setState(OpenSent, OpenCollisionDump, nil)
	}
}

// checkOpen validates an OPEN against the configuration (§6.2).
func (p *Peer) checkOpen(o *Open) *Notification {
	if p.cfg.RemoteAS != 0 && o.AS() != p.cfg.RemoteAS {
		return newNotification(CodeOpen, SubBadPeerAS, nil)
	}
	if o.AS() == p.cfg.LocalAS && o.ID == p.cfg.RouterID {
		return newNotification(CodeOpen, SubBadBGPIdentifier, nil)
	}
	return nil
}

// openReceived is BGPOpen in OpenSent (or with DelayOpen in Connect or
// Active): the hold time is negotiated and the KEEPALIVE sent.
func (p *Peer) openReceived(o *Open, ev Event) {
	if n := p.checkOpen(o); n != nil {
		p.toIdle(BGPOpenMsgErr, n, nil)
		return
	}
	cancel(&p.connectRetry)
	p.conn.open = o
	p.remote = o
	if p.other != nil {
		p.resolveCollision()
		if p.remote != o {
			return // the other connection won
		}
	}
	_, as4 := o.Capability(CapAS4)
	p.opts = Options{AS4: as4, EBGP: o.AS() != p.cfg.LocalAS, Limits: p.cfg.Limits}
	local := max(p.duration(p.cfg.HoldTime, DefaultHoldTime), 0)
	p.holdTime = min(local, time.Duration(o.HoldTime)*time.Second)
	p.send(p.conn, Keepalive{})
	cancel(&p.keepalive)
	cancel(&p.hold)
	if p.holdTime > 0 {
		p.keepalive = p.clock.CallLater(p.holdTime/3, p.keepaliveExpired)
		p.hold = p.clock.CallLater(p.holdTime, p.holdExpired)
	}
	p.setState(OpenConfirm, ev, nil)
}

// apply puts an UPDATE's routes in the Adj-RIB-In.
func (p *Peer) apply(u *Update) {
	for _, w := range u.Withdrawn {
		p.rib.remove(w)
	}
	for _, n := range u.NLRI {
		p.rib.add(n, u.Attrs)
	}
	if limit := p.cfg.Limits.maxPrefixes(); p.rib.Len() > limit {
		data := binary.BigEndian.AppendUint16(nil, uint16(AFIIPv4))
		data = append(data, byte(SAFIUnicast))
		data = binary.BigEndian.AppendUint32(data, uint32(limit))
		p.toIdle(UpdateMsg, newNotification(CodeCease, SubMaxPrefixes, data), nil)
	}
}

// A conn is one TCP connection of a Peer.
type conn struct {
	peer     *Peer
	t        internet.Transport
	outbound bool
	openSent bool
	open     *Open // the OPEN received on it
	closed   bool
	fr       framer
}

// ConnectionMade hands the connection to the FSM.
func (c *conn) ConnectionMade(t internet.Transport) {
	c.t = t
	c.peer.connectionMade(c)
}

// DataReceived cuts the data into messages for the FSM.
func (c *conn) DataReceived(data []byte) {
	if c.closed {
		return
	}
	err := c.fr.feed(data, c.peer.opts.Limits.maxMessageLen(), func(m []byte) bool {
		return c.peer.received(c, m)
	})
	if err != nil && !c.closed {
		n := err.(*Notification)
		if c != c.peer.conn {
			c.peer.send(c, n)
			c.close()
			return
		}
		c.openSent = true
		c.peer.toIdle(BGPHeaderErr, n, nil)
	}
}

// ConnectionLost tells the FSM.
func (c *conn) ConnectionLost(reason error) {
	c.closed = true
	c.fr = framer{}
	c.peer.connectionLost(c, reason)
}

// PartialMessage reports whether part of a message is buffered
// (policies.MessageState).
func (c *conn) PartialMessage() bool { return c.fr.partial() }

// Pending reports 0: a BGP session answers nothing (policies.MessageState).
func (c *conn) Pending() int { return 0 }

func (c *conn) close() {
	if !c.closed {
		c.closed = true
		c.t.LoseConnection()
	}
}

// dialFactory is the ClientFactory of a Peer's outbound connections.
type dialFactory struct{ p *Peer }

func (f dialFactory) BuildProtocol(net.Addr) internet.Protocol {
	return &conn{peer: f.p, outbound: true}
}

func (f dialFactory) ClientConnectionFailed(c internet.Connector, reason error) {
	f.p.connectFailed(c, reason)
}

func (f dialFactory) ClientConnectionLost(internet.Connector, error) {}

// NotificationReceived is the error that ends a session when the peer sends
// a NOTIFICATION.
type NotificationReceived struct {
	*Notification
}

// Error describes the NOTIFICATION in words.
func (e *NotificationReceived) Error() string { return "bgp: NOTIFICATION received: " + e.String() }

// Unwrap returns the NOTIFICATION.
func (e *NotificationReceived) Unwrap() error { return e.Notification }

// ErrNotConnected is returned by SendRaw when the peer has no connection.
var ErrNotConnected = errors.New("bgp: the peer has no connection")

// SendRaw writes b on the session's connection as it is, unchecked: a probe's
// way to see how a router handles what this package would never send (a
// malformed UPDATE, say). b should hold whole messages.
func (p *Peer) SendRaw(b []byte) error {
	if p.conn == nil || p.conn.closed {
		return ErrNotConnected
	}
	_, err := p.conn.t.Write(b)
	return err
}

// Accept returns the protocol for a connection from the peer, or nil (refuse
// it) while the peer is Idle, as §8.2.2 says. Speaker calls it.
func (p *Peer) Accept() internet.Protocol {
	if p.state == Idle {
		return nil
	}
	return &conn{peer: p}
}

// Speaker is the listening side of a set of peers: its BuildProtocol hands
// each accepted connection to the Peer configured for the remote address, and
// refuses the others. Pass it to internet.ListenTCP.
type Speaker struct {
	peers map[netip.Addr]*Peer
}

// NewSpeaker returns a Speaker for the peers.
func NewSpeaker(peers ...*Peer) *Speaker {
	s := &Speaker{peers: make(map[netip.Addr]*Peer)}
	for _, p := range peers {
		s.peers[p.cfg.Address] = p
	}
	return s
}

// BuildProtocol returns the protocol of the peer at addr's IP, or nil.
func (s *Speaker) BuildProtocol(addr net.Addr) internet.Protocol {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	if p := s.peers[ip.Unmap()]; p != nil {
		return p.Accept()
	}
	return nil
}
