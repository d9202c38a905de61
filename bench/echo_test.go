package bench

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRunEchoWritesTheTable runs every echo server briefly, each being this
// test binary, and checks that the table has a row for each.
func TestRunEchoWritesTheTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every echo server twice")
	}
	results, err := RunEcho(EchoConfig{
		Warmup:   20 * time.Millisecond,
		Duration: 200 * time.Millisecond,
		Conns:    2,
		Idle:     100,
		Command:  selfServer(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(echoServers) {
		t.Fatalf("%d results for %d servers", len(results), len(echoServers))
	}
	var table bytes.Buffer
	if err := WriteEchoTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, s := range echoServers {
		if !strings.Contains(table.String(), s.desc) {
			t.Errorf("no row for %s in\n%s", s.desc, table.String())
		}
	}
	for _, r := range results {
		if r.MessagesPerSecond <= 0 || r.UserPerMessage < 0 || r.IdleConns != 100 {
			t.Errorf("%s: %+v", r.Server, r)
		}
	}
	if !strings.Contains(table.String(), "twist/peer") {
		t.Errorf("no ratios in\n%s", table.String())
	}
}

func TestMaxIdleConns(t *testing.T) {
	for _, tt := range []struct {
		nofile uint64
		want   int
	}{
		{0, 0},
		{1024, 0},
		{20000, 6000},
		{40000, 13000},
		{1 << 20, 349000},
	} {
		if got := MaxIdleConns(tt.nofile); got != tt.want {
			t.Errorf("MaxIdleConns(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
}

// selfServer returns a harness's Command that runs the named server in a
// process of this test binary (see TestMain).
func selfServer(t *testing.T) func(server string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func(server string) *exec.Cmd {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), serveEnv+"="+server)
		return cmd
	}
}
