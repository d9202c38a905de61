package bench

import (
	"bytes"
	"os"
	"os/exec"
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
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	results, err := RunTLS(TLSConfig{
		Warmup:      20 * time.Millisecond,
		Duration:    200 * time.Millisecond,
		Conns:       2,
		Idle:        20,
		Handshakers: 1,
		Command: func(server string) *exec.Cmd {
			cmd := exec.Command(self)
			cmd.Env = append(os.Environ(), serveEnv+"="+server)
			return cmd
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
	var table bytes.Buffer
	if err := WriteTLSTable(&table, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "twist/net") {
		t.Errorf("no ratios in\n%s", table.String())
	}
}
