package web

import (
	"net"
	"strconv"
	"time"
)

// logAccess writes r's line to the access log in the combined log format
// (Twisted's combinedLogFormatter):
//
//	"127.0.0.1" - - [03/Dec/2026:07:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5"
//
// Fields from the client are escaped and bounded.
func (s *Site) logAccess(r *Request, now time.Time) {
	if s.AccessLog == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	b := s.logBuf[:0]
	b = append(b, '"')
	if a := r.ClientAddress(); a != nil {
		host := a.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		b = append(b, host...)
	} else {
		b = append(b, '-')
	}
	b = append(b, "\" - - ["...)
	b = now.UTC().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendLogField(b, r.Method+" "+r.URI+" "+r.ClientProto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(r.Code), 10)
	b = append(b, ' ')
	if r.SentLength > 0 {
		b = strconv.AppendInt(b, r.SentLength, 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendLogField(b, orDash(r.GetHeader("Referer")))
	b = append(b, "\" \""...)
	b = appendLogField(b, orDash(r.GetHeader("User-Agent")))
	b = append(b, "\"\n"...)
	_, _ = s.AccessLog.Write(b)
	s.logBuf = b
	if cap(b) > 8<<10 {
		s.logBuf = nil
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// appendLogField appends s, at most 1 KiB of it, escaping quotes,
// backslashes and control bytes so that a line cannot be forged.
func appendLogField(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	if len(s) > 1024 {
		s = s[:1024]
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c >= 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}
