package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The soak of `make soak`, for 30 seconds: twistd must pass it, and every
// kind of load must have run.
func TestSoak30s(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30-second soak of twistd")
	}
	cfg := defaultConfig()
	cfg.Duration, cfg.Warmup = 30*time.Second, 15*time.Second
	cfg.Crowd = 500
	// Thirty seconds are too few for the heap to settle: RSS may move by
	// ±25% here; make soak holds it to ±10%.
	cfg.RSSDrift = 0.25
	dir := t.TempDir()
	cfg.SVG, cfg.CSV = filepath.Join(dir, "soak.svg"), filepath.Join(dir, "soak.csv")
	res, err := run(context.Background(), cfg)
	if res != nil {
		var b strings.Builder
		res.writeSummary(&b)
		t.Log("\n" + b.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	n := res.n
	for what, got := range map[string]int64{
		"framed calls with ids": n.framedID.Load(), "framed calls without ids": n.framedNoID.Load(),
		"wire calls": n.wireID.Load(), "noreply calls": n.noReply.Load(), "driver calls": n.driver.Load(),
		"crowd calls": n.crowd.Load(), "HTTP requests": n.http.Load(), "churned connections": n.churn.Load(),
		"resets": n.resets.Load(), "slow reads": n.slowCalls.Load(), "slow readers pausing": n.slowPauses.Load(),
		"stalled readers aborted": n.stalled.Load(), "idle time-outs": n.idleClosed.Load(),
		"read time-outs": n.readClosed.Load(),
	} {
		if got == 0 {
			t.Errorf("no %s in 30 s", what)
		}
	}
	if svg, err := os.ReadFile(cfg.SVG); err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("the plot: %v, %.40q", err, svg)
	}
	if csv, err := os.ReadFile(cfg.CSV); err != nil || strings.Count(string(csv), "\n") < 25 {
		t.Errorf("the samples: %v, %d lines", err, strings.Count(string(csv), "\n"))
	}
}

// oneMore has the threads go from 8 to 9 halfway.
func oneMore(samples []sample) []sample {
	for i := range samples {
		samples[i].threads = 8 + 2*i/len(samples)
	}
	return samples
}

// leak has a descriptor more each second.
func leak(samples []sample) []sample {
	for i := range samples {
		samples[i].fds = 100 + i
	}
	return samples
}

// leakGoroutines has a goroutine more each second.
func leakGoroutines(samples []sample) []sample {
	for i := range samples {
		samples[i].goroutines = 20 + i
	}
	return samples
}

func TestCheckFlat(t *testing.T) {
	ramp := func(from, to int64) []sample {
		var out []sample
		for i := range 30 {
			out = append(out, sample{at: time.Duration(i+1) * time.Second, rss: (from + (to-from)*int64(i)/29) << 20, fds: 1000, threads: 9, goroutines: 20})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		failing string // the measures that must fail: a name's start, or "" for none
	}{
		{"flat", ramp(100, 100), ""},
		{"slow growth", ramp(100, 108), ""},
		{"leak", ramp(100, 150), "RSS"},
		{"shrink", ramp(100, 50), "RSS"},
		{"one thread more", oneMore(ramp(100, 100)), ""},
		{"leaking descriptors", leak(ramp(100, 100)), "descriptors"},
		{"leaking goroutines", leakGoroutines(ramp(100, 100)), "goroutines"},
		{"too short", ramp(100, 100)[:10], "RSS descriptors threads goroutines"},
	} {
		for _, f := range checkFlat(tc.samples, 5*time.Second, maxDrift) {
			want := tc.failing != "" && strings.Contains(tc.failing, strings.Fields(f.name)[0])
			if (f.err != nil) != want {
				t.Errorf("%s: %s: %v", tc.name, f.name, f.err)
			}
		}
	}
}

func TestLogWatch(t *testing.T) {
	for _, tc := range []struct {
		line     string
		provoked string // its category; "" if unexpected
		failing  bool
	}{
		{`{"level":"INFO","msg":"policies: closing the connection from 127.0.0.1:5: it sent nothing for 3s (idle time-out)"}`, "idle time-out", false},
		{`{"level":"INFO","msg":"policies: closing the connection from 127.0.0.1:5: it did not finish a message within 2s (read time-out)"}`, "read time-out", false},
		{`{"level":"WARN","msg":"rpc: cannot send answer","error":"internet: connection was lost: connection reset by peer"}`, "answer to a reset connection", false},
		{`{"level":"WARN","msg":"rpc: cannot send answer","error":"output over its limit"}`, "", true},
		{`{"level":"INFO","msg":"MongoWireServer starting on 4000"}`, "start and stop", false},
		{`{"level":"INFO","msg":"status page at http://127.0.0.1:4001/"}`, "start and stop", false},
		{`{"level":"INFO","msg":"policies: aborting the connection from 127.0.0.1:5: it read nothing for 8s, 1040000 bytes unread (write time-out)"}`, "write time-out", false},
		{`{"level":"INFO","msg":"something new"}`, "", false},
		{`{"level":"ERROR","msg":"reactor: a handler panicked"}`, "", true},
		{`panic: runtime error: index out of range`, "", true},
	} {
		w := newLogWatch()
		w.line(tc.line)
		if _, ok := w.writeTimedOut("127.0.0.1:5"); ok != (tc.provoked == "write time-out") {
			t.Errorf("%s: write time-out of 127.0.0.1:5 noted: %v", tc.line, ok)
		}
		if w.counts[tc.provoked] != 1 && tc.provoked != "" {
			t.Errorf("%s: not counted as %q: %v", tc.line, tc.provoked, w.counts)
		}
		if (w.check() != nil) != tc.failing {
			t.Errorf("%s: check %v", tc.line, w.check())
		}
	}
}

func TestCallCheck(t *testing.T) {
	val := func(v any) bson.RawValue {
		typ, b, err := bson.MarshalValue(v)
		if err != nil {
			t.Fatal(err)
		}
		return bson.RawValue{Type: typ, Value: b}
	}
	for _, tc := range []struct {
		c     call
		reply bson.RawValue
		kind  string
		ok    bool
	}{
		{call{fn: "add", a: 1, b: 2}, val(int32(3)), "", true},
		{call{fn: "add", a: 1 << 40, b: 2}, val(int64(1<<40 + 2)), "", true},
		{call{fn: "add", a: 1, b: 2}, val(int32(4)), "", false},
		{call{fn: "echo", s: "x"}, val("x"), "", true},
		{call{fn: "echo", s: "x"}, val("y"), "", false},
		{call{fn: "sleep"}, bson.RawValue{Type: bson.TypeNull}, "", true},
		{call{fn: "sleep"}, val(int32(0)), "", false},
		{call{fn: "fail", s: "x"}, bson.RawValue{}, "HandlerError", true},
		{call{fn: "fail", s: "x"}, val("x"), "", false},
		{call{fn: "add", a: 1, b: 2}, bson.RawValue{}, "Timeout", false},
	} {
		if err := tc.c.check(tc.reply, tc.kind); (err == nil) != tc.ok {
			t.Errorf("%+v answered %v %q: %v", tc.c, tc.reply, tc.kind, err)
		}
	}
}
