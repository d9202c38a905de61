package bench

import (
	"bytes"
	"fmt"
	"os"
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
