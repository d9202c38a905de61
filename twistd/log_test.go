package twistd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

var logTime = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// logLine logs msg with args through f(a TextHandler) and returns the line.
func logLine(t *testing.T, f func(*slog.Logger) *slog.Logger, level slog.Level, msg string, args ...any) string {
	t.Helper()
	var buf bytes.Buffer
	l := f(slog.New(NewTextHandler(&buf, &TextHandlerOptions{Level: slog.LevelDebug})))
	r := slog.NewRecord(logTime, level, msg, 0)
	r.Add(args...)
	if err := l.Handler().Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func same(l *slog.Logger) *slog.Logger { return l }

func TestTextHandlerFormat(t *testing.T) {
	tests := []struct {
		name  string
		with  func(*slog.Logger) *slog.Logger
		level slog.Level
		msg   string
		args  []any
		want  string
	}{
		{"no system is a dash", same, slog.LevelInfo, "Log opened.", nil,
			"2026-11-21 10:00:00+0000 [-] Log opened.\n"},
		{"system attribute", same, slog.LevelInfo, "sending 3003 bytes of poetry to 127.0.0.1:52144",
			[]any{System("PoetryFactory")},
			"2026-11-21 10:00:00+0000 [PoetryFactory] sending 3003 bytes of poetry to 127.0.0.1:52144\n"},
		{"system from With", func(l *slog.Logger) *slog.Logger { return l.With(System("reactor")) },
			slog.LevelInfo, "tick", nil, "2026-11-21 10:00:00+0000 [reactor] tick\n"},
		{"record system overrides With", func(l *slog.Logger) *slog.Logger { return l.With(System("a")) },
			slog.LevelInfo, "m", []any{System("b")}, "2026-11-21 10:00:00+0000 [b] m\n"},
		{"attributes appended", same, slog.LevelInfo, "m", []any{"n", 3, "ok", true},
			"2026-11-21 10:00:00+0000 [-] m n=3 ok=true\n"},
		{"values quoted when needed", same, slog.LevelInfo, "m", []any{"a", "two words", "b", "", "c", "x=y"},
			"2026-11-21 10:00:00+0000 [-] m a=\"two words\" b=\"\" c=\"x=y\"\n"},
		{"errors", same, slog.LevelInfo, "m", []any{"err", errors.New("boom")},
			"2026-11-21 10:00:00+0000 [-] m err=boom\n"},
		{"groups are dotted", func(l *slog.Logger) *slog.Logger { return l.WithGroup("req").With("id", 7) },
			slog.LevelInfo, "m", []any{slog.Group("peer", "port", 80)},
			"2026-11-21 10:00:00+0000 [-] m req.id=7 req.peer.port=80\n"},
		{"system inside a group is an attribute", func(l *slog.Logger) *slog.Logger { return l.WithGroup("g") },
			slog.LevelInfo, "m", []any{System("x")}, "2026-11-21 10:00:00+0000 [-] m g.system=x\n"},
		{"no level, as in Twisted's format", same, slog.LevelWarn, "careful", nil,
			"2026-11-21 10:00:00+0000 [-] careful\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logLine(t, tt.with, tt.level, tt.msg, tt.args...); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTextHandlerLevelAndOmitTime(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewTextHandler(&buf, &TextHandlerOptions{OmitTime: true}))
	l.Debug("hidden")
	l.Info("shown", System("syslog"))
	if got := buf.String(); got != "[syslog] shown\n" {
		t.Fatalf("got %q", got)
	}
}

func BenchmarkTextHandler(b *testing.B) {
	l := slog.New(NewTextHandler(io.Discard, nil)).With(System("PoetryFactory"))
	b.ReportAllocs()
	for b.Loop() {
		l.Info("sending poetry", "bytes", 3003, "peer", "127.0.0.1:52144")
	}
}
