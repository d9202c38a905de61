package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/protocols/bgp"
)

// Config is the probe's configuration file (JSON).
type Config struct {
	// RouterID and LocalAS are the defaults of every peer.
	RouterID string `json:"router_id"`
	LocalAS  uint32 `json:"local_as"`
	// Listen is the address the probe accepts BGP connections on
	// ("127.0.0.1:1790"); empty means none (then passive peers cannot
	// connect).
	Listen string       `json:"listen"`
	Peers  []PeerConfig `json:"peers"`
	// Routes are announced to every peer.
	Routes []RouteConfig `json:"routes"`
	// StatsInterval is how often route counts are stored, in seconds
	// (default 5).
	StatsInterval float64 `json:"stats_interval"`
}

// PeerConfig is a peer of the configuration file. Times are in seconds.
type PeerConfig struct {
	Address      string  `json:"address"`
	Port         int     `json:"port"`
	LocalAddress string  `json:"local_address"`
	RemoteAS     uint32  `json:"remote_as"`
	LocalAS      uint32  `json:"local_as"`
	RouterID     string  `json:"router_id"`
	HoldTime     float64 `json:"hold_time"`
	ConnectRetry float64 `json:"connect_retry"`
	IdleHold     float64 `json:"idle_hold"`
	DelayOpen    float64 `json:"delay_open"`
	Passive      bool    `json:"passive"`
	NextHop6     string  `json:"next_hop6"`
	MaxPrefixes  int     `json:"max_prefixes"`
}

// RouteConfig is a route to announce.
type RouteConfig struct {
	Prefixes         []string `json:"prefixes"`
	Origin           string   `json:"origin"` // igp (default), egp, incomplete
	ASPath           []uint32 `json:"as_path"`
	NextHop          string   `json:"next_hop"`
	MED              *uint32  `json:"med"`
	Communities      []string `json:"communities"`       // "65000:1"
	LargeCommunities []string `json:"large_communities"` // "65000:1:2"
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Peers) == 0 {
		return nil, fmt.Errorf("%s: no peers", path)
	}
	return &c, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func parseAddr(s, what string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w", what, err)
	}
	return a, nil
}

// peerConfig turns a configured peer into the FSM's configuration.
func (c *Config) peerConfig(pc PeerConfig) (bgp.PeerConfig, error) {
	var out bgp.PeerConfig
	var err error
	if out.Address, err = parseAddr(pc.Address, "peer address"); err != nil || !out.Address.IsValid() {
		return out, fmt.Errorf("peer %q: bad address", pc.Address)
	}
	if out.LocalAddr, err = parseAddr(pc.LocalAddress, "local_address"); err != nil {
		return out, err
	}
	id := pc.RouterID
	if id == "" {
		id = c.RouterID
	}
	if out.RouterID, err = parseAddr(id, "router_id"); err != nil || !out.RouterID.Is4() {
		return out, fmt.Errorf("peer %s: router_id %q is not an IPv4 address", pc.Address, id)
	}
	if out.NextHop6, err = parseAddr(pc.NextHop6, "next_hop6"); err != nil {
		return out, err
	}
	out.Port, out.RemoteAS, out.LocalAS, out.Passive = pc.Port, pc.RemoteAS, pc.LocalAS, pc.Passive
	if out.LocalAS == 0 {
		out.LocalAS = c.LocalAS
	}
	if out.LocalAS == 0 {
		return out, fmt.Errorf("peer %s: no local_as", pc.Address)
	}
	out.HoldTime = seconds(pc.HoldTime)
	out.ConnectRetryTime = seconds(pc.ConnectRetry)
	out.IdleHoldTime = seconds(pc.IdleHold)
	out.DelayOpenTime = seconds(pc.DelayOpen)
	out.Limits.MaxPrefixes = pc.MaxPrefixes
	return out, nil
}

// route turns a configured route into attributes and prefixes.
func (r RouteConfig) route() (*bgp.Attributes, []netip.Prefix, error) {
	a := &bgp.Attributes{}
	switch r.Origin {
	case "", "igp":
		a.Origin = bgp.OriginIGP
	case "egp":
		a.Origin = bgp.OriginEGP
	case "incomplete":
		a.Origin = bgp.OriginIncomplete
	default:
		return nil, nil, fmt.Errorf("route origin %q", r.Origin)
	}
	if len(r.ASPath) > 0 {
		a.ASPath = []bgp.ASPathSegment{{Type: bgp.ASSequence, ASNs: r.ASPath}}
	}
	nh, err := parseAddr(r.NextHop, "next_hop")
	if err != nil {
		return nil, nil, err
	}
	if nh.Is4() {
		a.NextHop = nh
	} else if nh.IsValid() {
		a.NextHop6 = nh
	}
	if r.MED != nil {
		a.MED, a.HasMED = *r.MED, true
	}
	for _, s := range r.Communities {
		v, err := parseNumbers(s, 2, 16)
		if err != nil {
			return nil, nil, fmt.Errorf("community %q: %w", s, err)
		}
		a.Communities = append(a.Communities, v[0]<<16|v[1])
	}
	for _, s := range r.LargeCommunities {
		v, err := parseNumbers(s, 3, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("large community %q: %w", s, err)
		}
		a.LargeCommunities = append(a.LargeCommunities, bgp.LargeCommunity{Global: v[0], Local1: v[1], Local2: v[2]})
	}
	var ps []netip.Prefix
	for _, s := range r.Prefixes {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p.Masked())
	}
	return a, ps, nil
}

// parseNumbers parses n colon-separated numbers of the given bit size.
func parseNumbers(s string, n, bits int) ([]uint32, error) {
	parts := strings.Split(s, ":")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d numbers separated by colons", n)
	}
	out := make([]uint32, n)
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, bits)
		if err != nil {
			return nil, err
		}
		out[i] = uint32(v)
	}
	return out, nil
}
