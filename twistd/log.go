package twistd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// SystemKey is the attribute key that names a log line's system, the part
// of Twisted's log lines in brackets: the protocol, factory or subsystem that
// logs.
const SystemKey = "system"

// System returns the attribute that sets a log line's system:
//
//	logger := slog.Default().With(twistd.System("PoetryFactory"))
//	logger.Info("sending 3003 bytes of poetry to 127.0.0.1:52144")
func System(name string) slog.Attr { return slog.String(SystemKey, name) }

// TimeFormat is the layout of the time at the start of a text log line:
// Twisted's "%Y-%m-%d %H:%M:%S%z".
const TimeFormat = "2006-01-02 15:04:05-0700"

// TextHandlerOptions configure a TextHandler.
type TextHandlerOptions struct {
	// Level is the minimum level logged; nil means slog.LevelInfo.
	Level slog.Leveler
	// OmitTime leaves the time out, for destinations that stamp lines
	// themselves (syslog).
	OmitTime bool
}

// TextHandler is a slog.Handler that writes lines in Twisted's log format:
//
//	2026-11-21 10:00:00+0000 [PoetryFactory] sending 3003 bytes of poetry to 127.0.0.1:52144
//
// The bracketed system comes from the "system" attribute (see System), "-"
// without one; the other attributes follow the message as key=value, with
// values quoted when they need to be. The level is not written, as Twisted's
// format has none: use the JSON format for a log to filter by level. It is
// safe for concurrent use.
type TextHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	opts   TextHandlerOptions
	system string
	attrs  []byte // preformatted " key=value" pairs from WithAttrs
	group  string // key prefix from WithGroup, ending in "."
}

// NewTextHandler returns a TextHandler writing to w; opts may be nil.
func NewTextHandler(w io.Writer, opts *TextHandlerOptions) *TextHandler {
	h := &TextHandler{mu: new(sync.Mutex), w: w, system: "-"}
	if opts != nil {
		h.opts = *opts
	}
	return h
}

// Enabled reports whether level is at least the handler's level.
func (h *TextHandler) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return level >= min
}

// Handle writes r as one line.
func (h *TextHandler) Handle(_ context.Context, r slog.Record) error {
	system := h.system
	var tail []byte
	r.Attrs(func(a slog.Attr) bool {
		if h.group == "" && a.Key == SystemKey {
			system = a.Value.Resolve().String()
			return true
		}
		tail = appendAttr(tail, h.group, a)
		return true
	})
	buf := make([]byte, 0, 128)
	if !h.opts.OmitTime && !r.Time.IsZero() {
		buf = r.Time.AppendFormat(buf, TimeFormat)
		buf = append(buf, ' ')
	}
	buf = append(buf, '[')
	buf = append(buf, system...)
	buf = append(buf, "] "...)
	buf = append(buf, r.Message...)
	buf = append(buf, h.attrs...)
	buf = append(buf, tail...)
	buf = append(buf, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

// WithAttrs returns a handler that adds attrs to every line; a "system"
// attribute outside any group sets the system instead.
func (h *TextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = slices.Clip(h.attrs)
	for _, a := range attrs {
		if h.group == "" && a.Key == SystemKey {
			h2.system = a.Value.Resolve().String()
			continue
		}
		h2.attrs = appendAttr(h2.attrs, h.group, a)
	}
	return &h2
}

// WithGroup returns a handler that qualifies later attribute keys with name.
func (h *TextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendAttr appends " key=value" for a, flattening groups into dotted keys.
func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			buf = appendAttr(buf, prefix, g)
		}
		return buf
	}
	if a.Equal(slog.Attr{}) {
		return buf
	}
	buf = append(buf, ' ')
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	var s string
	switch v.Kind() {
	case slog.KindTime:
		s = v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		s = fmt.Sprint(v.Any())
	default:
		s = v.String()
	}
	if needsQuoting(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

// needsQuoting reports whether s would be ambiguous unquoted in a key=value
// list: empty, or with spaces, quotes, '=' or unprintable runes.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == '=' || r == '"' || r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
