package bench

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// serveEnv names the server a test binary started by the harness runs.
const serveEnv = "TWIST_BENCH_SERVE"

// TestMain runs the test binary as a harness's server when serveEnv says so.
func TestMain(m *testing.M) {
	if name := os.Getenv(serveEnv); name != "" {
		if err := Serve(name, os.Stdin, os.Stdout, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunWritesTheTable runs every case briefly, each server being this
// test binary, and checks that the table has a row for each.
func TestRunWritesTheTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and runs every case")
	}
	results, err := Run(Config{
		Warmup:   50 * time.Millisecond,
		Duration: 200 * time.Millisecond,
		Command:  selfServer(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cases()) {
		t.Fatalf("%d results for %d cases", len(results), len(cases()))
	}
	var table bytes.Buffer
	if err := WriteTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases() {
		if !strings.Contains(table.String(), c.system) || !strings.Contains(table.String(), c.shape) {
			t.Errorf("no row for %s, %s in\n%s", c.system, c.shape, table.String())
		}
	}
	for _, r := range results {
		if r.Calls == 0 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("%s, %s: %d calls, p50 %v, p99 %v", r.System, r.Shape, r.Calls, r.P50, r.P99)
		}
	}
	if !strings.Contains(table.String(), "goal ") {
		t.Errorf("no goals in\n%s", table.String())
	}
}

// WriteTable checks each row of Goals against net/rpc's row of the same
// shape, and the CPU goal where there is one.
func TestWriteTableChecksTheGoals(t *testing.T) {
	row := func(system, shape string, calls int, cpu time.Duration) Result {
		return Result{System: system, Shape: shape, Calls: calls, Window: time.Second, ServerCPU: cpu}
	}
	withClient := func(r Result, client time.Duration) Result {
		r.ClientCPU = client
		return r
	}
	for _, tc := range []struct {
		name    string
		results []Result
		want    []string
	}{
		{"all met", []Result{
			row(SystemTwistRaw, shapeConns, 1800, 1800*time.Microsecond),
			row(SystemTwistClient, shapeInFlight, 1500, 0),
			row(SystemTwistMongo, shapePool, 1000, 0),
			row(SystemNetRPC, shapeConns, 1000, 0),
			row(SystemNetRPC, shapeInFlight, 1000, 0),
		}, []string{
			"goal twist framed, raw client, 50 conns x 1: 1.80x net/rpc, want >= 1.8x: met",
			"goal twist framed, raw client, 50 conns x 1: 1000 server user CPU ns/call, want <= 1000: met",
			"goal twist framed, rpc.Client, 1 conn x 64: 1.50x net/rpc, want >= 1.5x: met",
			"goal twist mongowire, Go driver, 50 goroutines, pool: 1.00x net/rpc, want >= 1.0x: met",
		}},
		{"none met", []Result{
			row(SystemTwistRaw, shapeConns, 1790, 1800*time.Millisecond),
			row(SystemTwistClient, shapeInFlight, 1490, 0),
			withClient(row(SystemTwistMongo, shapePool, 990, 0), 99*time.Millisecond),
			withClient(row(SystemNetRPC, shapeConns, 1000, 0), 50*time.Millisecond),
			row(SystemNetRPC, shapeInFlight, 1000, 0),
		}, []string{
			"goal twist framed, raw client, 50 conns x 1: 1.79x net/rpc, want >= 1.8x: NOT met",
			"goal twist framed, raw client, 50 conns x 1: 1005587 server user CPU ns/call, want <= 1000: NOT met",
			"goal twist framed, rpc.Client, 1 conn x 64: 1.49x net/rpc, want >= 1.5x: NOT met",
			"goal twist mongowire, Go driver, 50 goroutines, pool: 0.99x net/rpc, want >= 1.0x: NOT met (client CPU per call 2.00x net/rpc's)",
		}},
		{"no net/rpc rows, no ratios", []Result{
			row(SystemTwistRaw, shapeConns, 1000, 500*time.Microsecond),
		}, []string{
			"goal twist framed, raw client, 50 conns x 1: 500 server user CPU ns/call, want <= 1000: met",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTable(&b, tc.results); err != nil {
				t.Fatal(err)
			}
			var got []string
			for line := range strings.Lines(b.String()) {
				if strings.HasPrefix(line, "goal ") {
					got = append(got, strings.TrimSuffix(line, "\n"))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("goal lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
