//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twistgo/twist/internal/promtool"
	"github.com/twistgo/twist/rpc"
)

var statusAt = regexp.MustCompile(`status page at (http://\S+/)`)

// statusURL waits until p logs its status page's URL and returns it.
func (p *proc) statusURL(t *testing.T) string {
	t.Helper()
	var url string
	if !poll(func() bool {
		m := statusAt.FindStringSubmatch(p.output())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("no status page in the log:\n%s", p.output())
	}
	return url
}

// httpGet GETs url with the bearer token (none if ""), and returns the status
// code and the body.
func httpGet(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// sumMetric parses a text exposition and sums the samples of family name
// whose labels include want.
func sumMetric(t *testing.T, text []byte, name string, want map[string]string) float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("/metrics has no %s", name)
	}
	var sum float64
	for _, m := range fam.Metric {
		if hasLabels(m, want) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}

// twistd rpc --status: /metrics of the running server rises under load and
// passes promtool's lint; /status.json and the page ask for the token.
func TestStatusMetricsUnderLoad(t *testing.T) {
	p := start(t, t.TempDir(), "-n", "--pidfile", "", "--status-auth", "tok", "rpc", "--port", "0",
		"--interface", "127.0.0.1", "--mongo-port", "-1", "--status", ":0")
	base := p.statusURL(t)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("status page at %s: an address without a host must mean 127.0.0.1", base)
	}
	for _, path := range []string{"", "status.json", "metrics", "events"} {
		if code, _ := httpGet(t, base+path, ""); code != http.StatusUnauthorized {
			t.Errorf("/%s without the token: %d, want 401", path, code)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	load := func(n int) {
		for i := range n {
			var sum int
			if err := c.Call(ctx, "add", []any{i, 1}, &sum); err != nil || sum != i+1 {
				t.Fatalf("add(%d, 1) = %d, %v", i, sum, err)
			}
		}
	}
	load(10)
	code, first := httpGet(t, base+"metrics", "tok")
	if code != 200 {
		t.Fatalf("/metrics: %d\n%s", code, first)
	}
	load(200)
	_, second := httpGet(t, base+"metrics", "tok")
	add := map[string]string{"function": "add"}
	if a, b := sumMetric(t, first, "twist_rpc_calls_total", add), sumMetric(t, second, "twist_rpc_calls_total", add); a < 10 || b < a+200 {
		t.Errorf("twist_rpc_calls_total{function=add}: %v then %v, want >= 10 then 200 more", a, b)
	}
	main := map[string]string{"loop": "main"}
	if a, b := sumMetric(t, first, "twist_loop_iterations_total", main), sumMetric(t, second, "twist_loop_iterations_total", main); b <= a {
		t.Errorf("twist_loop_iterations_total{loop=main}: %v then %v, want a rise", a, b)
	}

	promtool.Check(t, second)

	code, body := httpGet(t, base+"status.json?token=tok", "")
	var doc struct {
		Loops []struct{ Name string }
		RPC   []struct{ Name string }
		Rates map[string]any
	}
	if err := json.Unmarshal(body, &doc); code != 200 || err != nil {
		t.Fatalf("/status.json: %d %v\n%s", code, err, body)
	}
	if len(doc.Loops) != 1 || doc.Loops[0].Name != "main" || doc.Rates == nil {
		t.Errorf("/status.json: %s", body)
	}
	if !strings.Contains(string(body), `"name":"add"`) {
		t.Errorf("/status.json lacks the rpc plugin's functions: %s", body)
	}
	if !strings.Contains(string(body), `"addr":"`+p.addr()+`"`) {
		t.Errorf("/status.json lacks the rpc plugin's listener %s: %s", p.addr(), body)
	}
}
