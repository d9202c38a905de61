package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/protocols/bgp"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

const exampleConfig = `{
  "router_id": "10.0.0.1", "local_as": 65000, "listen": "127.0.0.1:1790",
  "peers": [
    {"address": "127.0.0.2", "port": 1791, "remote_as": 65001, "hold_time": 9,
     "connect_retry": 5, "idle_hold": 1, "local_address": "127.0.0.1"},
    {"address": "127.0.0.3", "remote_as": 65002, "passive": true, "router_id": "10.9.9.9", "local_as": 4200000000}
  ],
  "routes": [{"prefixes": ["198.51.100.7/24", "2001:db8::/32"], "med": 10, "origin": "egp",
              "communities": ["65000:1"], "large_communities": ["65000:1:2"], "as_path": [65010]}]
}`

func TestConfig(t *testing.T) {
	name := filepath.Join(t.TempDir(), "probe.json")
	writeFile(t, name, exampleConfig)
	cfg, err := LoadConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	p0, err := cfg.peerConfig(cfg.Peers[0])
	if err != nil {
		t.Fatal(err)
	}
	want := bgp.PeerConfig{Address: netip.MustParseAddr("127.0.0.2"), Port: 1791, LocalAddr: netip.MustParseAddr("127.0.0.1"),
		LocalAS: 65000, RemoteAS: 65001, RouterID: netip.MustParseAddr("10.0.0.1"), HoldTime: 9 * time.Second,
		ConnectRetryTime: 5 * time.Second, IdleHoldTime: time.Second}
	if !reflect.DeepEqual(p0, want) {
		t.Errorf("peer 0:\n%+v\nwant\n%+v", p0, want)
	}
	p1, _ := cfg.peerConfig(cfg.Peers[1])
	if !p1.Passive || p1.LocalAS != 4200000000 || p1.RouterID != netip.MustParseAddr("10.9.9.9") {
		t.Errorf("peer 1: %+v", p1)
	}
	a, ps, err := cfg.Routes[0].route()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ps, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")}) ||
		a.Origin != bgp.OriginEGP || a.MED != 10 || a.Communities[0] != 65000<<16|1 ||
		a.LargeCommunities[0] != (bgp.LargeCommunity{Global: 65000, Local1: 1, Local2: 2}) || a.ASPath[0].ASNs[0] != 65010 {
		t.Errorf("route %+v %v", a, ps)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []string{
		`{"peers": []}`,
		`{"peers": [{"address": "127.0.0.2"}], "unknown": 1}`,
		`not json`,
	} {
		name := filepath.Join(t.TempDir(), "bad.json")
		writeFile(t, name, c)
		if _, err := LoadConfig(name); err == nil {
			t.Errorf("%s: no error", c)
		}
	}
	for _, tt := range []struct {
		cfg  Config
		peer PeerConfig
	}{
		{Config{LocalAS: 1, RouterID: "1.2.3.4"}, PeerConfig{Address: "x"}},
		{Config{LocalAS: 1}, PeerConfig{Address: "127.0.0.2", RouterID: "::1"}},
		{Config{RouterID: "1.2.3.4"}, PeerConfig{Address: "127.0.0.2"}},
	} {
		if _, err := tt.cfg.peerConfig(tt.peer); err == nil {
			t.Errorf("%+v: no error", tt.peer)
		}
	}
	for _, r := range []RouteConfig{{Origin: "x"}, {Communities: []string{"1"}}, {LargeCommunities: []string{"1:2"}}, {Prefixes: []string{"10/8"}}} {
		if _, _, err := r.route(); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
}

// TestStoreAndStatus records a session's life through the store, from the
// loop, and reads it back with the status command.
func TestStoreAndStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "probe.db")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		store, err := OpenStore(path, r, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		store.RecordTransition(Transition{Peer: "127.0.0.2", RemoteAS: 65001, At: t0, From: "Idle", To: "Connect", Event: "ManualStart"})
		store.RecordTransition(Transition{Peer: "127.0.0.2", RemoteAS: 65001, At: t0.Add(time.Second), From: "OpenConfirm",
			To: "Established", Event: "KeepAliveMsg", EstablishedAt: t0.Add(time.Second)})
		store.RecordNotification("127.0.0.2", t0.Add(2*time.Second), true, 6, 2, "Cease: Administrative Shutdown")
		store.RecordTransition(Transition{Peer: "127.0.0.2", RemoteAS: 65001, At: t0.Add(2 * time.Second), From: "Established",
			To: "Idle", Event: "NotifMsg", Error: "bgp: NOTIFICATION received: Cease: Administrative Shutdown"})
		return store.RecordCounts("127.0.0.2", t0.Add(3*time.Second), 0, 2).AddCallback(func(any) (any, error) {
			return nil, store.Close()
		})
	})
	var out bytes.Buffer
	if err := status(path, &out, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "PEER") {
		t.Fatalf("status:\n%s", out.String())
	}
	fields := strings.Fields(lines[1])
	want := []string{"127.0.0.2", "65001", "Idle", "58s", "2026-01-02T03:04:06Z", "0", "2", "bgp:"}
	if !reflect.DeepEqual(fields[:len(want)], want) || !strings.HasSuffix(lines[1], "Cease: Administrative Shutdown") {
		t.Errorf("status line %q", lines[1])
	}
	if err := run([]string{"status", "-db", filepath.Join(t.TempDir(), "none.db")}, io.Discard, io.Discard); err == nil {
		t.Error("status of a missing database did not fail")
	}
}
