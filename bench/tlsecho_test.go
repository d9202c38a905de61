package bench

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunTLSWritesTheTable runs both TLS echo servers briefly, each being
// this test binary, and checks their figures and the table.
func TestRunTLSWritesTheTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts each TLS server three times")
	}
	command := selfServer(t)
	var steps []string
	results, err := RunTLS(TLSConfig{
		Warmup:      20 * time.Millisecond,
		Duration:    200 * time.Millisecond,
		Conns:       2,
		Idle:        20,
		Handshakers: 1,
		Command: func(server, step string) *exec.Cmd {
			steps = append(steps, server+"."+step)
			return command(server)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Server != ServerTLSTwist || results[1].Server != ServerTLSNet {
		t.Fatalf("results %+v", results)
	}
	for _, r := range results {
		if r.MessagesPerSecond <= 0 || r.HandshakesPerSecond <= 0 || r.CPUPerHandshake <= 0 {
			t.Errorf("%s: %+v", r.Server, r)
		}
	}
	// Every idle connection of the goroutine server has its goroutine;
	// Twist's have none.
	if g := results[0].GoroutinesPerConn; g > 0.1 {
		t.Errorf("twist: %.2f goroutines per idle connection", g)
	}
	if g := results[1].GoroutinesPerConn; g < 0.9 {
		t.Errorf("net: %.2f goroutines per idle connection", g)
	}
	// Each process has a step of its own, for its profile's name.
	want := []string{
		"tls-twist.echo.1", "tls-twist.idle.1", "tls-twist.handshakes.1",
		"tls-net.echo.1", "tls-net.idle.1", "tls-net.handshakes.1",
	}
	if !slices.Equal(steps, want) {
		t.Errorf("steps %q, want %q", steps, want)
	}
	var table bytes.Buffer
	if err := WriteTLSTable(&table, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "twist/net") {
		t.Errorf("no ratios in\n%s", table.String())
	}
}
