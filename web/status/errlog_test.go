package status

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestErrorLogKeepsTheLastErrors(t *testing.T) {
	var out bytes.Buffer
	el := NewErrorLog(slog.NewTextHandler(&out, nil), 3, slog.LevelError)
	log := slog.New(el).With("system", "rpc").WithGroup("call")
	log.Info("not kept")
	for i := range 5 {
		log.Error(fmt.Sprintf("failure %d", i), "id", i, slog.Group("peer", "addr", "127.0.0.1:1"))
	}
	got := el.Recent()
	if len(got) != 3 || el.Total() != 5 {
		t.Fatalf("kept %d of %d, want 3 of 5: %+v", len(got), el.Total(), got)
	}
	for i, r := range got {
		want := fmt.Sprintf("failure %d", i+2)
		if r.Message != want || r.Level != "ERROR" {
			t.Errorf("record %d: %q %s, want %q ERROR", i, r.Message, r.Level, want)
		}
		if wantAttrs := fmt.Sprintf("system=rpc call.id=%d call.peer.addr=127.0.0.1:1", i+2); r.Attrs != wantAttrs {
			t.Errorf("record %d attrs %q, want %q", i, r.Attrs, wantAttrs)
		}
	}
	// Everything went on to the wrapped handler, the info line too.
	if n := strings.Count(out.String(), "\n"); n != 6 {
		t.Errorf("wrapped handler got %d lines, want 6:\n%s", n, out.String())
	}
}

func TestErrorLogBoundsEachRecord(t *testing.T) {
	el := NewErrorLog(slog.DiscardHandler, 0, slog.LevelWarn)
	huge := strings.Repeat("é", 2*maxErrorText)
	slog.New(el).Warn(huge, "input", huge)
	r := el.Recent()[0]
	for name, s := range map[string]string{"message": r.Message, "attrs": r.Attrs} {
		if len(s) > maxErrorText+3 || !strings.HasSuffix(s, "...") || strings.ToValidUTF8(s, "") != s {
			t.Errorf("%s: %d bytes, not cut to %d on a rune boundary", name, len(s), maxErrorText)
		}
	}
	if cap(el.ring.recs) != DefaultErrorLogSize {
		t.Errorf("ring of %d, want DefaultErrorLogSize", cap(el.ring.recs))
	}
}

// The ring wants errors even when the wrapped handler logs only above them.
func TestErrorLogEnabled(t *testing.T) {
	quiet := slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError + 4})
	el := NewErrorLog(quiet, 2, slog.LevelError)
	if !el.Enabled(t.Context(), slog.LevelError) || el.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("Enabled: want error on, warn off")
	}
	slog.New(el).Error("kept")
	if len(el.Recent()) != 1 {
		t.Error("error not kept")
	}
}
