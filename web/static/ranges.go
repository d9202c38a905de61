package static

import (
	"strings"

	"github.com/twistgo/twist/web/internal/http1"
)

// parseRange reads a Range header for a representation of size bytes. ok
// is false when the header is to be ignored: malformed, not in bytes, or
// asking for more than one range (RFC 9110 §14.2 lets a server ignore
// Range; Twisted answers several ranges with multipart/byteranges, Twist
// with the whole file). n < 0 means the range is not satisfiable (416).
func parseRange(h string, size int64) (start, n int64, ok bool) {
	unit, spec, found := strings.Cut(h, "=")
	if !found || strings.TrimSpace(unit) != "bytes" || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if first == "" {
		// A suffix: the last n bytes.
		k, valid := http1.ParseLength(last)
		if !valid {
			return 0, 0, false
		}
		if k == 0 || size == 0 {
			return 0, -1, true
		}
		k = min(k, size)
		return size - k, k, true
	}
	s, valid := http1.ParseLength(first)
	if !valid {
		return 0, 0, false
	}
	e := size - 1
	if last != "" {
		if e, valid = http1.ParseLength(last); !valid || e < s {
			return 0, 0, false
		}
		e = min(e, size-1)
	}
	if s >= size {
		return 0, -1, true
	}
	return s, e - s + 1, true
}
