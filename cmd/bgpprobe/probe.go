package main

import (
	"html"
	"log/slog"
	"strings"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/protocols/bgp"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/web"
	twiststatus "github.com/twistgo/twist/web/status"
)

// Probe holds every configured session on one loop and records them in a
// Store.
type Probe struct {
	loop  *reactor.Reactor
	store *Store
	log   *slog.Logger
	cfg   *Config
	peers []*bgp.Peer
	port  *internet.Port
	web   *internet.Port
	twist *twiststatus.Page // Twist's status page, below the sessions' at /twist/
	stats *task.LoopingCall
	since map[*bgp.Peer]time.Time // when each peer entered its state
}

// NewProbe builds the peers of cfg on loop, recording into store. Call it on
// the loop, or before the loop runs.
func NewProbe(loop *reactor.Reactor, cfg *Config, store *Store, log *slog.Logger) (*Probe, error) {
	pr := &Probe{loop: loop, store: store, log: log, cfg: cfg, since: make(map[*bgp.Peer]time.Time)}
	dial := func(addr string, f internet.ClientFactory, opts ...internet.ConnectOption) internet.Connector {
		return internet.ConnectTCP(loop, addr, f, opts...)
	}
	for _, pc := range cfg.Peers {
		c, err := cfg.peerConfig(pc)
		if err != nil {
			return nil, err
		}
		c.Logger = log
		p := bgp.NewPeer(c, loop, dial)
		p.OnStateChange = pr.stateChanged
		p.OnNotification = pr.notification
		for _, r := range cfg.Routes {
			a, ps, err := r.route()
			if err != nil {
				return nil, err
			}
			p.Announce(a, ps...)
		}
		pr.peers = append(pr.peers, p)
	}
	return pr, nil
}

// Peers returns the probe's peers.
func (pr *Probe) Peers() []*bgp.Peer { return pr.peers }

// Port returns the port the probe listens on, or nil.
func (pr *Probe) Port() *internet.Port { return pr.port }

// Start listens (if the configuration says where), starts every peer and
// the periodic storing of route counts. Call it on the loop.
func (pr *Probe) Start() error {
	if pr.cfg.Listen != "" {
		port, err := internet.ListenTCP(pr.loop, pr.cfg.Listen, bgp.NewSpeaker(pr.peers...))
		if err != nil {
			return err
		}
		pr.port = port
	}
	now := pr.loop.Now()
	for _, p := range pr.peers {
		pr.since[p] = now
		pr.store.RecordTransition(pr.transition(p, now, bgp.Idle, "configured", nil))
		p.Start()
	}
	interval := 5 * time.Second
	if pr.cfg.StatsInterval > 0 {
		interval = seconds(pr.cfg.StatsInterval)
	}
	pr.stats = task.NewLoopingCall(pr.loop, func() (any, error) {
		now := pr.loop.Now()
		for _, p := range pr.peers {
			pr.store.RecordCounts(p.Config().Address.String(), now, p.RIB().Len(), p.Announced())
		}
		return nil, nil
	})
	_, err := pr.stats.Start(interval, false)
	return err
}

// Stop ends every session with a Cease, stops listening, and returns a
// Deferred that fires once the database has every write made so far.
func (pr *Probe) Stop() *deferred.Deferred {
	if pr.stats != nil && pr.stats.Running() {
		pr.stats.Stop()
	}
	for _, p := range pr.peers {
		p.Stop("bgpprobe shutting down")
	}
	var last *deferred.Deferred
	now := pr.loop.Now()
	for _, p := range pr.peers {
		last = pr.store.RecordCounts(p.Config().Address.String(), now, p.RIB().Len(), p.Announced())
	}
	var ds []*deferred.Deferred
	if last != nil {
		ds = append(ds, last)
	}
	if pr.twist != nil {
		pr.twist.Stop()
	}
	for _, port := range []*internet.Port{pr.port, pr.web} {
		if port != nil {
			ds = append(ds, port.StopListening())
		}
	}
	return deferred.Gather(ds)
}

func (pr *Probe) transition(p *bgp.Peer, at time.Time, to bgp.State, event string, err error) Transition {
	t := Transition{Peer: p.Config().Address.String(), RemoteAS: p.Config().RemoteAS, At: at, From: p.State().String(),
		To: to.String(), Event: event, Received: p.RIB().Len(), Sent: p.Announced()}
	if err != nil {
		t.Error = err.Error()
	}
	if to == bgp.Established {
		t.EstablishedAt = p.EstablishedAt()
	}
	return t
}

func (pr *Probe) stateChanged(p *bgp.Peer, from, to bgp.State, ev bgp.Event, err error) {
	pr.since[p] = pr.loop.Now()
	t := pr.transition(p, pr.loop.Now(), to, ev.String(), err)
	t.From = from.String()
	pr.store.RecordTransition(t)
}

func (pr *Probe) notification(p *bgp.Peer, n *bgp.Notification, received bool) {
	pr.store.RecordNotification(p.Config().Address.String(), pr.loop.Now(), received, n.Code, n.Subcode, n.String())
}

// Sessions returns the sessions as they are now, from the peers themselves.
func (pr *Probe) Sessions() []Session {
	var out []Session
	for _, p := range pr.peers {
		s := Session{Peer: p.Config().Address.String(), RemoteAS: p.Config().RemoteAS, State: p.State().String(),
			StateSince: pr.since[p], Received: p.RIB().Len(), Sent: p.Announced(), UpdatedAt: pr.loop.Now()}
		if p.Counters().Established > 0 {
			s.EstablishedAt = p.EstablishedAt()
		}
		if err := p.LastError(); err != nil {
			s.LastError = err.Error()
		}
		out = append(out, s)
	}
	return out
}

// ServeStatus serves the sessions on a web page at addr ("127.0.0.1:8179";
// ":8179" is on 127.0.0.1), from the loop's own state: the page never waits
// for the database. Twist's status page of the loop (web/status: lag,
// connections, memory, /metrics) is below /twist/. If token is not empty,
// both ask for it as twistd's --status-auth does: "Authorization: Bearer
// TOKEN", or "?token=TOKEN".
func (pr *Probe) ServeStatus(addr, token string) error {
	// Twist's own status page of the probe's loop sits below /twist/.
	reg := metrics.NewRegistry()
	reg.AddLoop("main", pr.loop)
	twist, err := twiststatus.New(reg, twiststatus.Options{Title: "bgpprobe", Token: token})
	if err != nil {
		return err
	}
	page := twist.Protect(func(req *web.Request) ([]byte, error) {
		var b strings.Builder
		writeSessions(&b, pr.Sessions(), pr.loop.Now())
		req.SetHeader("Content-Type", "text/html; charset=utf-8")
		return []byte("<!doctype html><title>bgpprobe</title><pre>\n" + html.EscapeString(b.String()) + "</pre>\n"), nil
	})
	root := &web.BaseResource{}
	root.PutChild("", page)
	root.PutChild("twist", twist.Resource())
	port, err := internet.ListenTCP(pr.loop, twiststatus.ListenAddr(addr), web.NewSite(root))
	if err != nil {
		return err
	}
	pr.web, pr.twist = port, twist
	twist.Start(pr.loop)
	return nil
}
