package main

import (
	"bytes"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
)

// The off edits still match the counting code, once each, and leave Go
// that parses: the guard that make test keeps over make overhead, which
// would otherwise fail only when someone ran it.
func TestOffEditsApply(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	edited, err := applyEdits(root, offEdits)
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range edited {
		orig, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(orig, b) {
			t.Errorf("%s: the edits changed nothing", path)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), path, b, parser.SkipObjectResolution); err != nil {
			t.Errorf("%s after the off edits: %v", path, err)
		}
	}
	// What the edits are for is gone.
	for _, c := range []struct{ path, gone string }{
		{"reactor/reactor.go", "r.stats.iterations++"},
		{"reactor/fd.go", "r.stats.events++"},
		{"reactor/stats.go", "r.stats.blocking++"},
		{"internet/stats.go", "k.in.Add"},
		{"internet/stats.go", "k.out.Add"},
		{"rpc/stats.go", "st.calls.Add(1)"},
	} {
		if strings.Contains(string(edited[c.path]), c.gone) {
			t.Errorf("%s still has %s after the off edits", c.path, c.gone)
		}
	}
}

func TestApplyEditsFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("x++\nx++\ny++\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		old     string
		wantErr string
	}{
		{`z\+\+`, "matches 0 times"},
		{`x\+\+`, "matches 2 times"},
		{`(`, "missing closing )"},
		{`y\+\+`, ""},
	} {
		got, err := applyEdits(dir, []edit{{"a.go", c.old, "w"}})
		if c.wantErr == "" {
			if err != nil || string(got["a.go"]) != "x++\nx++\nw\n" {
				t.Errorf("edit %q: %q, %v", c.old, got["a.go"], err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("edit %q: error %v, want one with %q", c.old, err, c.wantErr)
		}
	}
	if _, err := applyEdits(dir, []edit{{"missing.go", "x", ""}}); err == nil {
		t.Error("an edit of a missing file did not fail")
	}
}

func TestParseAnnotate(t *testing.T) {
	out := `--------------------------------------------------------------------------------
Ir                 
--------------------------------------------------------------------------------
2,081,593 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                file:function
--------------------------------------------------------------------------------
287,892 (13.83%)  ./github.com/twistgo/twist@v0.0.0/reactor/fd.go:github.com/twistgo/twist/reactor.(*Reactor).ready [/tmp/on/echobench]
104,966 ( 5.04%)  ./internal/runtime/syscall/linux/asm_linux_amd64.s:internal/runtime/syscall/linux.Syscall6 [/tmp/on/echobench]
 40,000 ( 1.92%)  ./github.com/twistgo/twist@v0.0.0/internet/stats.go:github.com/twistgo/twist/internet.(*Conn).write
  1,000 ( 0.05%)  ???:github.com/twistgo/twist/bench.(*echoProtocol).DataReceived [/tmp/on/echobench]
    500 ( 0.02%)  ./runtime/proc.go:runtime.schedule [/tmp/on/echobench]
 90,000 ( 4.32%)  ./github.com/twistgo/twist@v0.0.0/reactor/poll_epoll.go:github.com/twistgo/twist/reactor.(*poller).wait [/tmp/on/echobench]
 20,000 ( 0.96%)  ./github.com/twistgo/twist@v0.0.0/reactor/poll_epoll.go:github.com/twistgo/twist/reactor.epollPoll [/tmp/on/echobench]
`
	fns, total, err := parseAnnotate([]byte(out), twistPrefix, pollerWait)
	want := map[string]uint64{
		"./github.com/twistgo/twist@v0.0.0/reactor/fd.go:github.com/twistgo/twist/reactor.(*Reactor).ready":   287892,
		"./github.com/twistgo/twist@v0.0.0/internet/stats.go:github.com/twistgo/twist/internet.(*Conn).write": 40000,
		"???:github.com/twistgo/twist/bench.(*echoProtocol).DataReceived":                                     1000,
	}
	if err != nil || !maps.Equal(fns, want) || total != 2081593 {
		t.Errorf("parseAnnotate = %v, %d, %v; want %v, %d", fns, total, err, want, 2081593)
	}
	if _, _, err := parseAnnotate([]byte("nothing\n"), twistPrefix, nil); err == nil {
		t.Error("output without PROGRAM TOTALS parsed")
	}
}

// Each workload's round trips are answered as the load expects by the
// servers it is made for.
func TestWorkloads(t *testing.T) {
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	echo, err := internet.ListenTCP(r, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol { return &echoer{} }))
	if err != nil {
		t.Fatal(err)
	}
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	framed, err := internet.ListenTCP(r, "127.0.0.1:0", s.Factory())
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mongo, err := internet.ListenTCP(r, "127.0.0.1:0", mongowire.NewServer(s, mongowire.WithLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run() }()
	defer func() {
		r.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for name, addr := range map[string]net.Addr{"echo": echo.Addr(), "framed": framed.Addr(), "framed64": framed.Addr(), "mongo": mongo.Addr()} {
		// 10 round trips on 3 connections: 4, 3 and 3, in whole waves.
		w := workloads[name]
		want := 10
		if d := w.inFlight(); d > 1 {
			want = 3 * d
		}
		made, err := w.run(addr.String(), 3, 10, 0)
		if err != nil || made != want {
			t.Errorf("%s: %d round trips, %v; want %d", name, made, err, want)
		}
		// Timed: as many as fit in the window, at least one per connection.
		made, err = workloads[name].run(addr.String(), 2, 0, time.Millisecond)
		if err != nil || made < 2 {
			t.Errorf("%s for 1ms: %d round trips, %v", name, made, err)
		}
	}
	// An answer that is not 3 is an error.
	if _, err := workloads["framed"].run(echo.Addr().String(), 1, 1, 0); err == nil {
		t.Error("the framed load took its own call echoed for an answer")
	}
}

type echoer struct{ internet.BaseProtocol }

func (e *echoer) DataReceived(b []byte) { _, _ = e.Transport.Write(b) }

func TestVarying(t *testing.T) {
	var b strings.Builder
	varying(&b, "on", []map[string]float64{
		{"f": 10, "g": 20, "h": 5},
		{"f": 10, "g": 21.5, "i": 0.7},
	})
	// h and i are each missing from a run: 0 there.
	want := "  on varies by 5.0 in h\n  on varies by 1.5 in g\n  on varies by 0.7 in i\n"
	if got := b.String(); got != want {
		t.Errorf("varying wrote %q, want %q", got, want)
	}
}
