package main

import (
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParseBenchmarks(t *testing.T) {
	out := []byte(`goos: linux
goarch: amd64
pkg: github.com/twistgo/twist/deferred
cpu: AMD EPYC
BenchmarkChain10    	  742688	      1585 ns/op	     768 B/op	      11 allocs/op
BenchmarkInlineAwait/pending/coroutine 	     100	   4130000 ns/op	       413.0 ns/await	  128000 B/op	    2000 allocs/op
PASS
`)
	got, err := parseBenchmarks(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		bench, unit string
		want        float64
	}{
		{"BenchmarkChain10", "ns/op", 1585},
		{"BenchmarkChain10", "allocs/op", 11},
		{"BenchmarkInlineAwait/pending/coroutine", "ns/await", 413},
		{"BenchmarkInlineAwait/pending/coroutine", "ns/op", 4130000},
	} {
		if v, ok := got[tt.bench][tt.unit]; !ok || v != tt.want {
			t.Errorf("%s %s = %v, %v; want %v", tt.bench, tt.unit, v, ok, tt.want)
		}
	}
	if _, err := parseBenchmarks([]byte("PASS\n")); err == nil {
		t.Error("output without a benchmark was accepted")
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tt := range []struct {
		v      float64
		digits int
		want   string
	}{
		{0, 0, "0"},
		{999.4, 0, "999"},
		{1000, 0, "1,000"},
		{1234567.8, 0, "1,234,568"},
		{-45678, 0, "-45,678"},
		{1234.5678, 2, "1234.57"},
	} {
		if got := formatNumber(tt.v, tt.digits); got != tt.want {
			t.Errorf("formatNumber(%v, %d) = %q, want %q", tt.v, tt.digits, got, tt.want)
		}
	}
}

// TestCellRatios checks that each figure is set against the best peer's:
// the lowest for CPU, the highest for a rate, Twist's own rows excluded.
func TestCellRatios(t *testing.T) {
	w := workload{metrics: []metric{mRate, mCPU}, rows: []row{
		{system: "twist", twist: true, v: map[string]float64{"rate": 300, "cpu": 500}},
		{system: "twist 2", twist: true, v: map[string]float64{"rate": 900, "cpu": 100}},
		{system: "a", v: map[string]float64{"rate": 200, "cpu": 1000}},
		{system: "b", v: map[string]float64{"rate": 100, "cpu": 400}},
		{system: "c", v: map[string]float64{}},
	}}
	for _, tt := range []struct {
		row  int
		m    metric
		want string
	}{
		{0, mRate, "**300 (1.50×)**"},
		{0, mCPU, "**500 (1.25×)**"},
		{2, mRate, "200 (1.00×)"},
		{3, mCPU, "400 (1.00×)"},
		{4, mCPU, "-"},
	} {
		if got := w.cell(w.rows[tt.row], tt.m); got != tt.want {
			t.Errorf("row %s, %s: %q, want %q", w.rows[tt.row].system, tt.m.key, got, tt.want)
		}
	}
	var b strings.Builder
	w.writeTable(&b)
	if lines := strings.Count(b.String(), "\n"); lines != 2+len(w.rows) {
		t.Errorf("%d lines in the table, want %d:\n%s", lines, 2+len(w.rows), b.String())
	}
}

// TestChartLeavesGaps draws a chart whose systems are not in every
// workload.
func TestChartLeavesGaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.svg")
	ws := []workload{
		{label: "a", metrics: []metric{mCPU}, rows: []row{{system: "twist", v: map[string]float64{"cpu": 1}}, {system: "x", v: map[string]float64{"cpu": 2}}}},
		{label: "b", metrics: []metric{mCPU}, rows: []row{{system: "twist", v: map[string]float64{"cpu": 3}}, {system: "y", v: map[string]float64{"cpu": math.Inf(1)}}}},
		{label: "c", metrics: []metric{mMem}, rows: []row{{system: "z", v: map[string]float64{"mem": 3}}}},
	}
	if _, ok, err := drawChart(path, family{title: "t"}, ws, "cpu"); err == nil || ok {
		t.Errorf("an infinite figure was drawn: %v, %v", ok, err)
	}
	ws[1].rows[1].v["cpu"] = 4
	title, ok, err := drawChart(path, family{title: "t"}, ws, "cpu")
	if err != nil || !ok {
		t.Fatalf("%v, %v", ok, err)
	}
	if title != "t: "+mCPU.header {
		t.Errorf("title %q", title)
	}
	if _, ok, err := drawChart(path, family{title: "t"}, ws, "wall"); ok || err != nil {
		t.Errorf("a chart of a metric no workload has: %v, %v", ok, err)
	}
}

// TestShortReport runs benchreport's short mode end to end on the families
// that need no foreign program (wrk's are the HTTP server's), and checks
// that the report has their tables and charts. It asserts nothing on speed.
func TestShortReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the harnesses and runs every server briefly")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("taskset (Debian's util-linux) pins the servers and the loads:", err)
	}
	out := filepath.Join(t.TempDir(), "benchmarks.md")
	cfg := shortConfig(config{out: out, command: "benchreport -short", filter: regexp.MustCompile("^(echo|rpc|tls|httpclient|crawl|micro)$")})
	logw := io.Discard
	if testing.Verbose() {
		logw = os.Stderr
	}
	if err := run(cfg, logw); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, f := range families {
		if f.name == "http" {
			continue
		}
		if !strings.Contains(doc, "## "+f.title+"\n") {
			t.Errorf("no section %q", f.title)
		}
	}
	for _, want := range []string{"Short mode", "## Summary", "twist 1 loop", "gnet 1 loop", "net/rpc gob", "gRPC proto", "Go driver",
		"crypto/tls", "net/http Client", "Colly", "channel round trip", "taskset -c 1 echobench -json"} {
		if !strings.Contains(doc, want) {
			t.Errorf("no %q in the report", want)
		}
	}
	if strings.Contains(doc, "Failed") {
		t.Errorf("a family failed:\n%s", doc)
	}
	charts := regexp.MustCompile(`!\[[^]]*\]\(([^)]+)\)`).FindAllStringSubmatch(doc, -1)
	if len(charts) < 5 {
		t.Errorf("%d charts in the report", len(charts))
	}
	for _, c := range charts {
		svg, err := os.ReadFile(filepath.Join(filepath.Dir(out), c[1]))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s is not an SVG document", c[1])
		}
	}
}

func TestBusy(t *testing.T) {
	for _, tt := range []struct {
		load string
		want bool
	}{
		{"0.10 0.50 1.00", false},
		{"0.51 0.20 0.10", true},
		{"13.07 14.95 13.27", true},
		{"unknown", false},
	} {
		if got := busy(tt.load); got != tt.want {
			t.Errorf("busy(%q) = %v", tt.load, got)
		}
	}
}
