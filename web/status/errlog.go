package status

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultErrorLogSize is the number of records an ErrorLog keeps when
// NewErrorLog is given no size.
const DefaultErrorLogSize = 50

// maxErrorText bounds the message and the attributes of a record kept, so
// that a log line quoting a peer's input cannot make the page large.
const maxErrorText = 512

// An ErrorRecord is a log record an ErrorLog kept.
type ErrorRecord struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	// Attrs are the record's attributes as key=value pairs.
	Attrs string `json:"attrs,omitempty"`
}

// An ErrorLog is a slog.Handler that passes every record on to the handler
// it wraps and keeps the last few at or above a level (error by default),
// for the status page. The ring is shared by the handlers WithAttrs and
// WithGroup derive. It is safe for concurrent use.
type ErrorLog struct {
	next  slog.Handler
	ring  *ring
	attrs string // preformatted by WithAttrs
	group string // key prefix by WithGroup, ending in "."
}

type ring struct {
	mu    sync.Mutex
	min   slog.Level
	recs  []ErrorRecord
	next  int // where the next record goes once recs is full
	total int64
}

// NewErrorLog returns an ErrorLog over next keeping the last n records at
// or above min (DefaultErrorLogSize for n <= 0).
func NewErrorLog(next slog.Handler, n int, min slog.Level) *ErrorLog {
	if n <= 0 {
		n = DefaultErrorLogSize
	}
	return &ErrorLog{next: next, ring: &ring{min: min, recs: make([]ErrorRecord, 0, n)}}
}

// Enabled reports whether the wrapped handler or the ring wants level.
func (e *ErrorLog) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= e.ring.min || e.next.Enabled(ctx, level)
}

// Handle keeps r if its level is high enough and passes it on if the
// wrapped handler is enabled for it.
func (e *ErrorLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= e.ring.min {
		var b strings.Builder
		b.WriteString(e.attrs)
		r.Attrs(func(a slog.Attr) bool {
			appendAttr(&b, e.group, a)
			return b.Len() < maxErrorText
		})
		e.ring.add(ErrorRecord{
			Time:    r.Time,
			Level:   r.Level.String(),
			Message: cut(r.Message),
			Attrs:   cut(strings.TrimPrefix(b.String(), " ")),
		})
	}
	if !e.next.Enabled(ctx, r.Level) {
		return nil
	}
	return e.next.Handle(ctx, r)
}

// WithAttrs returns an ErrorLog over next.WithAttrs(attrs), on the same ring.
func (e *ErrorLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(e.attrs)
	for _, a := range attrs {
		appendAttr(&b, e.group, a)
	}
	return &ErrorLog{next: e.next.WithAttrs(attrs), ring: e.ring, attrs: cut(b.String()), group: e.group}
}

// WithGroup returns an ErrorLog over next.WithGroup(name), on the same ring.
func (e *ErrorLog) WithGroup(name string) slog.Handler {
	if name == "" {
		return e
	}
	return &ErrorLog{next: e.next.WithGroup(name), ring: e.ring, attrs: e.attrs, group: e.group + name + "."}
}

// Recent returns the records kept, oldest first.
func (e *ErrorLog) Recent() []ErrorRecord { return e.ring.recent() }

// Total returns how many records were kept since the start, including
// those the ring has let go.
func (e *ErrorLog) Total() int64 {
	e.ring.mu.Lock()
	defer e.ring.mu.Unlock()
	return e.ring.total
}

func (r *ring) add(rec ErrorRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if len(r.recs) < cap(r.recs) {
		r.recs = append(r.recs, rec)
		return
	}
	r.recs[r.next] = rec
	r.next = (r.next + 1) % len(r.recs)
}

func (r *ring) recent() []ErrorRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ErrorRecord, 0, len(r.recs))
	out = append(out, r.recs[r.next:]...)
	return append(out, r.recs[:r.next]...)
}

// appendAttr writes " key=value" for a, groups flattened with dots.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			appendAttr(b, prefix, g)
		}
		return
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	b.WriteString(v.String())
}

// cut shortens s to maxErrorText bytes, on a rune boundary.
func cut(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorText], "") + "..."
}
