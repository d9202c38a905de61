package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/protocols/bgp"
)

// gobgp is a GoBGP daemon at 127.0.0.3, AS 65002, peering with the probe.
type gobgp struct {
	*router
	port, api int
}

// startGoBGP writes a configuration and starts gobgpd on it.
func startGoBGP(t *testing.T, probePort int, passive bool, hold int) *gobgp {
	t.Helper()
	needTool(t, "gobgp", "gobgpd")
	bin := needTool(t, "gobgpd", "gobgpd")
	g := &gobgp{router: newRouter(t, "gobgpd"), port: freePort(t, "127.0.0.3"), api: freePort(t, "127.0.0.1")}
	conf := filepath.Join(g.dir, "gobgpd.toml")
	writeFile(t, conf, fmt.Sprintf(`[global.config]
  as = 65002
  router-id = "127.0.0.3"
  port = %d
  local-address-list = ["127.0.0.3"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = 65000
  [neighbors.transport.config]
    remote-port = %d
    local-address = "127.0.0.3"
    passive-mode = %v
  [neighbors.timers.config]
    hold-time = %d
    keepalive-interval = %d
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`, g.port, probePort, passive, hold, max(1, hold/3)))
	g.args = []string{bin, "-f", conf, "--api-hosts", fmt.Sprintf("127.0.0.1:%d", g.api), "--pprof-disable", "-p"}
	g.ready = func() bool { return strings.Contains(g.cli("global"), "Router-ID: 127.0.0.3") }
	g.start()
	return g
}

func (g *gobgp) cli(args ...string) string {
	return output(g.t, "gobgp", append([]string{"-u", "127.0.0.1", "-p", strconv.Itoa(g.api)}, args...)...)
}

// addRoutes adds n IPv4 and n/5 IPv6 routes to GoBGP's RIB, each tagged with
// MED 10, community 65002:100 and large community 65002:1:2.
func (g *gobgp) addRoutes(n int) []string {
	g.t.Helper()
	tags := []string{"origin", "igp", "med", "10", "community", "65002:100", "large-community", "65002:1:2"}
	var prefixes []string
	for i := range n {
		p := fmt.Sprintf("10.9.%d.0/24", i)
		prefixes = append(prefixes, p)
		if out := g.cli(append([]string{"global", "rib", "add", "-a", "ipv4", p, "nexthop", "127.0.0.3"}, tags...)...); out != "" {
			g.t.Fatalf("gobgp global rib add: %s", out)
		}
	}
	for i := range n / 5 {
		p := fmt.Sprintf("2001:db8:9:%x::/64", i)
		prefixes = append(prefixes, p)
		if out := g.cli(append([]string{"global", "rib", "add", "-a", "ipv6", p, "nexthop", "2001:db8::3"}, tags...)...); out != "" {
			g.t.Fatalf("gobgp global rib add: %s", out)
		}
	}
	return prefixes
}

func gobgpPeer(g *gobgp, passive bool, hold float64) PeerConfig {
	return PeerConfig{Address: "127.0.0.3", Port: g.port, LocalAddress: "127.0.0.1", RemoteAS: 65002,
		HoldTime: hold, ConnectRetry: 1, IdleHold: 0.3, Passive: passive}
}

func TestGoBGPSessions(t *testing.T) {
	for _, probeActive := range []bool{true, false} {
		name := "probe passive"
		if probeActive {
			name = "probe active"
		}
		t.Run(name, func(t *testing.T) {
			cfg := probeConfig(t, PeerConfig{}, announced)
			g := startGoBGP(t, listenPort(t, cfg), probeActive, 9)
			prefixes := g.addRoutes(50)
			cfg.Peers[0] = gobgpPeer(g, !probeActive, 9)
			pr := startProbe(t, cfg)
			// GoBGP waits 5 to 10 seconds before it connects.
			pr.waitState(bgp.Established, 15*time.Second)
			established := pr.call(func() any { return pr.peer().EstablishedAt() }).(time.Time)
			if s := pr.waitStored(bgp.Established); !s.EstablishedAt.Equal(established) || s.RemoteAS != 65002 {
				t.Errorf("stored %+v, want established at %v", s, established)
			}
			eventually(t, 5*time.Second, "not every route arrived", func() bool {
				return pr.call(func() any { return pr.peer().RIB().Len() }).(int) == len(prefixes)
			})
			checkRoutes(t, pr, "127.0.0.3", 65002, "2001:db8::3", []string{prefixes[0], prefixes[49], prefixes[50], prefixes[59]})
			eventually(t, 5*time.Second, "the probe's routes are not in GoBGP's table", func() bool {
				out := g.cli("global", "rib", "-a", "ipv4")
				return strings.Contains(out, "198.51.100.0/24") && strings.Contains(out, "203.0.113.0/25") &&
					strings.Contains(out, "{Med: 5}") && strings.Contains(out, "65000:1") && strings.Contains(out, "65000:7:8")
			})
		})
	}
}

func TestGoBGPMalformedUpdate(t *testing.T) {
	cfg := probeConfig(t, PeerConfig{})
	g := startGoBGP(t, listenPort(t, cfg), true, 9)
	cfg.Peers[0] = gobgpPeer(g, false, 9)
	cfg.Peers[0].IdleHold = 30
	pr := startProbe(t, cfg)
	pr.waitState(bgp.Established, 10*time.Second)
	// GoBGP resets the session, as RFC 7606 says, but with Malformed
	// Attribute List where RFC 4271 §6.3 says Invalid Network Field (BIRD's
	// answer, see TestBIRDMalformedUpdate).
	sendMalformed(t, pr, bgp.SubMalformedAttributeList)
}
