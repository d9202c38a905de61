package main

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twistgo/twist/protocols/bgp"
)

// bird is a BIRD 2 daemon at 127.0.0.2, AS 65001, peering with the probe.
type bird struct {
	*router
	sock string
	port int
}

// birdOptions shape the generated configuration.
type birdOptions struct {
	probePort  int
	passive    bool // BIRD waits for the probe to connect
	hold       int
	ipv4, ipv6 int // static routes to announce
}

// startBIRD writes a configuration and starts `bird -f` on it.
func startBIRD(t *testing.T, o birdOptions) *bird {
	t.Helper()
	birdc := needTool(t, "birdc", "bird2")
	bin := needTool(t, "bird", "bird2")
	b := &bird{router: newRouter(t, "bird"), port: freePort(t, "127.0.0.2")}
	b.sock = filepath.Join(b.dir, "bird.sock")
	var c strings.Builder
	fmt.Fprintf(&c, "router id 127.0.0.2;\nlog stderr all;\nprotocol device { }\n")
	fmt.Fprintf(&c, "protocol static s4 {\n  ipv4;\n")
	for i := range o.ipv4 {
		fmt.Fprintf(&c, "  route 10.%d.%d.0/24 blackhole;\n", i>>8, i&255)
	}
	fmt.Fprintf(&c, "}\nprotocol static s6 {\n  ipv6;\n")
	for i := range o.ipv6 {
		fmt.Fprintf(&c, "  route 2001:db8:%x::/48 blackhole;\n", i)
	}
	passive := "off"
	if o.passive {
		passive = "on"
	}
	// multihop: BIRD takes no neighbour on a loopback address otherwise.
	fmt.Fprintf(&c, `}
filter tagged {
  bgp_med = 10;
  bgp_community.add((65001, 100));
  bgp_large_community.add((65001, 1, 2));
  accept;
}
protocol bgp probe {
  local 127.0.0.2 port %d as 65001;
  neighbor 127.0.0.1 port %d as 65000;
  multihop;
  passive %s;
  hold time %d;
  connect retry time 1;
  connect delay time 1;
  error wait time 1, 2;
  ipv4 { import all; export filter tagged; };
  ipv6 { import all; export filter tagged; next hop address 2001:db8:ffff::2; };
}
`, b.port, o.probePort, passive, o.hold)
	conf := filepath.Join(b.dir, "bird.conf")
	writeFile(t, conf, c.String())
	b.args = []string{bin, "-c", conf, "-s", b.sock, "-f"}
	b.ready = func() bool {
		return strings.Contains(output(t, birdc, "-s", b.sock, "show", "status"), "Daemon is up")
	}
	b.start()
	return b
}

func (b *bird) cli(args ...string) string {
	return output(b.t, "birdc", append([]string{"-s", b.sock}, args...)...)
}

// birdPeer is the probe's configuration of the BIRD peer.
func birdPeer(b *bird, passive bool, hold float64) PeerConfig {
	return PeerConfig{Address: "127.0.0.2", Port: b.port, LocalAddress: "127.0.0.1", RemoteAS: 65001,
		HoldTime: hold, ConnectRetry: 1, IdleHold: 0.3, Passive: passive}
}

// announced is what the probe announces in the router tests.
var announced = RouteConfig{Prefixes: []string{"198.51.100.0/24", "203.0.113.0/25"}, MED: ptr(uint32(5)),
	Communities: []string{"65000:1"}, LargeCommunities: []string{"65000:7:8"}, NextHop: "192.0.2.1"}

func ptr[T any](v T) *T { return &v }

func TestBIRDSessions(t *testing.T) {
	for _, probeActive := range []bool{true, false} {
		name := "probe passive"
		if probeActive {
			name = "probe active"
		}
		t.Run(name, func(t *testing.T) {
			cfg := probeConfig(t, PeerConfig{}, announced)
			b := startBIRD(t, birdOptions{probePort: listenPort(t, cfg), passive: probeActive, hold: 9, ipv4: 10000, ipv6: 1000})
			cfg.Peers[0] = birdPeer(b, !probeActive, 9)
			start := time.Now()
			pr := startProbe(t, cfg)
			pr.waitState(bgp.Established, 10*time.Second)
			established := pr.call(func() any { return pr.peer().EstablishedAt() }).(time.Time)
			s := pr.waitStored(bgp.Established)
			if !s.EstablishedAt.Equal(established) || s.RemoteAS != 65001 {
				t.Errorf("stored %+v, want established at %v", s, established)
			}
			eventually(t, 10*time.Second, "not every IPv4 route arrived", func() bool {
				return pr.call(func() any { v4, _ := pr.peer().RIB().Count(); return v4 }).(int) == 10000
			})
			t.Logf("10,000 IPv4 routes from BIRD %v after the probe started (%v after Established)",
				time.Since(start).Round(time.Millisecond), time.Since(established).Round(time.Millisecond))
			// BIRD 2.0.12 sends its last IPv6 UPDATEs with its next
			// KEEPALIVE, up to a third of the hold time later (its own
			// packet log shows it).
			eventually(t, 10*time.Second, "not every route arrived", func() bool {
				return pr.call(func() any { return pr.peer().RIB().Len() }).(int) == 11000
			})
			t.Logf("all 11,000 routes %v after Established", time.Since(established).Round(time.Millisecond))
			checkRoutes(t, pr, "127.0.0.2", 65001, "2001:db8:ffff::2",
				[]string{"10.0.0.0/24", "10.39.15.0/24", "2001:db8::/48", "2001:db8:3e7::/48"})
			eventually(t, 5*time.Second, "the probe's routes are not in BIRD's table", func() bool {
				out := b.cli("show", "route", "all", "protocol", "probe")
				return strings.Contains(out, "198.51.100.0/24") && strings.Contains(out, "203.0.113.0/25") &&
					strings.Contains(out, "BGP.med: 5") && strings.Contains(out, "(65000, 7, 8)") &&
					strings.Contains(out, "BGP.as_path: 65000")
			})
			eventually(t, 5*time.Second, "route counts not stored", func() bool {
				ss, _ := pr.store.Sessions()
				return ss[0].Received == 11000 && ss[0].Sent == 2
			})
			checkStatusPage(t, pr, "127.0.0.2", "65001", "Established", "11000")
		})
	}
}

// checkRoutes checks the attributes of some routes that the router tagged
// with MED 10, community AS:100 and large community AS:1:2.
func checkRoutes(t *testing.T, pr *probeRun, nh4 string, as uint32, nh6 string, prefixes []string) {
	t.Helper()
	for _, s := range prefixes {
		p := netip.MustParsePrefix(s)
		a := pr.call(func() any { a, _ := pr.peer().RIB().Lookup(p); return a }).(*bgp.Attributes)
		if a == nil {
			t.Errorf("%v: not in the RIB", p)
			continue
		}
		if !reflect.DeepEqual(a.ASPath, []bgp.ASPathSegment{{Type: bgp.ASSequence, ASNs: []uint32{as}}}) {
			t.Errorf("%v: AS_PATH %v", p, a.ASPath)
		}
		if !a.HasMED || a.MED != 10 || !reflect.DeepEqual(a.Communities, []uint32{as<<16 | 100}) ||
			!reflect.DeepEqual(a.LargeCommunities, []bgp.LargeCommunity{{Global: as, Local1: 1, Local2: 2}}) {
			t.Errorf("%v: MED %v %d, communities %v, large %v", p, a.HasMED, a.MED, a.Communities, a.LargeCommunities)
		}
		if p.Addr().Is4() && a.NextHop.String() != nh4 || p.Addr().Is6() && a.NextHop6.String() != nh6 {
			t.Errorf("%v: next hop %v / %v", p, a.NextHop, a.NextHop6)
		}
	}
}

func TestBIRDRestart(t *testing.T) {
	cfg := probeConfig(t, PeerConfig{})
	b := startBIRD(t, birdOptions{probePort: listenPort(t, cfg), passive: true, hold: 9, ipv4: 10})
	cfg.Peers[0] = birdPeer(b, false, 9)
	pr := startProbe(t, cfg)
	pr.waitState(bgp.Established, 10*time.Second)
	b.kill()
	pr.waitState(bgp.Idle, 5*time.Second)
	if n := pr.call(func() any { return pr.peer().RIB().Len() }).(int); n != 0 {
		t.Errorf("%d routes kept after the session went down", n)
	}
	b.start()
	pr.waitState(bgp.Established, 10*time.Second)
	if n := pr.call(func() any { return pr.peer().Counters().Established }).(uint32); n != 2 {
		t.Errorf("established %d times", n)
	}
	eventually(t, 5*time.Second, "routes not back", func() bool {
		return pr.call(func() any { return pr.peer().RIB().Len() }).(int) == 10
	})
}

func TestBIRDHoldTimerExpires(t *testing.T) {
	cfg := probeConfig(t, PeerConfig{})
	b := startBIRD(t, birdOptions{probePort: listenPort(t, cfg), passive: true, hold: 3})
	cfg.Peers[0] = birdPeer(b, false, 3)
	cfg.Peers[0].IdleHold = 30 // stay down for the checks
	pr := startProbe(t, cfg)
	pr.waitState(bgp.Established, 10*time.Second)
	b.signal(syscall.SIGSTOP) // BIRD stops sending KEEPALIVEs
	pr.waitState(bgp.Idle, 6*time.Second)
	b.signal(syscall.SIGCONT)
	if err := pr.call(func() any { return pr.peer().LastError() }).(error); !strings.Contains(err.Error(), "Hold Timer Expired") {
		t.Errorf("last error %v", err)
	}
	s := pr.waitStored(bgp.Idle)
	if !strings.Contains(s.LastError, "Hold Timer Expired") {
		t.Errorf("stored last error %q", s.LastError)
	}
}

// malformedUpdate is an UPDATE whose NLRI holds a 33-bit IPv4 prefix: RFC
// 4271 §6.3 prescribes UPDATE Message Error / Invalid Network Field, and RFC
// 7606 §5.3 a session reset.
func malformedUpdate() []byte {
	u := &bgp.Update{Attrs: &bgp.Attributes{ASPath: []bgp.ASPathSegment{{Type: bgp.ASSequence, ASNs: []uint32{65000}}},
		NextHop: netip.MustParseAddr("192.0.2.1")}, NLRI: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	msg := u.AppendMessage(nil)
	msg = append(msg[:len(msg)-2], 33, 10, 0, 0, 0, 1)
	msg[16], msg[17] = byte(len(msg)>>8), byte(len(msg))
	return msg
}

// sendMalformed sends malformedUpdate and checks that the router answers
// with an UPDATE Message Error of the subcode given and resets the session.
func sendMalformed(t *testing.T, pr *probeRun, subcode uint8) {
	t.Helper()
	if err, _ := pr.call(func() any { return pr.peer().SendRaw(malformedUpdate()) }).(error); err != nil {
		t.Fatal(err)
	}
	pr.waitState(bgp.Idle, 5*time.Second)
	var n *bgp.Notification
	err := pr.call(func() any { return pr.peer().LastError() }).(error)
	want := &bgp.Notification{Code: bgp.CodeUpdate, Subcode: subcode}
	if !errorsAs(err, &n) || n.Code != want.Code || n.Subcode != want.Subcode {
		t.Fatalf("the router answered %v, want %v", err, want)
	}
	eventually(t, 5*time.Second, "NOTIFICATION not stored", func() bool {
		ns, _ := pr.store.Notifications(pr.peer().Config().Address.String())
		return len(ns) > 0 && ns[0] == "received "+want.String()
	})
}

func TestBIRDMalformedUpdate(t *testing.T) {
	cfg := probeConfig(t, PeerConfig{})
	b := startBIRD(t, birdOptions{probePort: listenPort(t, cfg), passive: true, hold: 9})
	cfg.Peers[0] = birdPeer(b, false, 9)
	cfg.Peers[0].IdleHold = 30
	pr := startProbe(t, cfg)
	pr.waitState(bgp.Established, 10*time.Second)
	sendMalformed(t, pr, bgp.SubInvalidNetworkField)
}
