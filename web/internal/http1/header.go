package http1

import (
	"iter"
	"strings"
)

// A Field is one header field: its name as it arrived or was set, and its
// value without surrounding whitespace.
type Field struct {
	Name, Value string
}

// Header is a message's header fields in the order they arrived or were
// added (Twisted's Headers). Names compare case-insensitively. A slice, not
// a map: a request has few fields, and a parsed header costs one allocation.
// The zero value is an empty header ready to use.
type Header struct {
	fields []Field
}

// Get returns the value of the first field named name, or "".
func (h *Header) Get(name string) string {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			return h.fields[i].Value
		}
	}
	return ""
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field named name, in order
// (Twisted's getRawHeaders).
func (h *Header) Values(name string) []string {
	var vs []string
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			vs = append(vs, h.fields[i].Value)
		}
	}
	return vs
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	h.fields = append(h.fields, Field{name, value})
}

// Set replaces every field named name by one with value
// (Twisted's setRawHeaders with one value).
func (h *Header) Set(name, value string) {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			h.fields[i].Value = value
			h.delFrom(i+1, name)
			return
		}
	}
	h.Add(name, value)
}

// Del removes every field named name.
func (h *Header) Del(name string) { h.delFrom(0, name) }

func (h *Header) delFrom(start int, name string) {
	kept := h.fields[:start]
	for _, f := range h.fields[start:] {
		if !strings.EqualFold(f.Name, name) {
			kept = append(kept, f)
		}
	}
	clear(h.fields[len(kept):])
	h.fields = kept
}

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// All yields every field's name and value in order.
func (h *Header) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range h.fields {
			if !yield(f.Name, f.Value) {
				return
			}
		}
	}
}

// Clone returns a copy that shares nothing with h.
func (h *Header) Clone() Header {
	return Header{fields: append([]Field(nil), h.fields...)}
}

// Reset removes every field and keeps the storage.
func (h *Header) Reset() {
	clear(h.fields)
	h.fields = h.fields[:0]
}

// AppendTo appends the fields in wire form ("Name: value\r\n" each) to dst.
// Values holding CR or LF are written with those bytes replaced by spaces,
// so that a value taken from a peer cannot start a field of its own
// (response splitting).
func (h *Header) AppendTo(dst []byte) []byte {
	for _, f := range h.fields {
		dst = appendSafe(dst, f.Name)
		dst = append(dst, ": "...)
		dst = appendSafe(dst, f.Value)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// appendSafe appends s with CR, LF and NUL replaced by spaces.
func appendSafe(dst []byte, s string) []byte {
	if strings.ContainsAny(s, "\r\n\x00") {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\r' || c == '\n' || c == 0 {
				c = ' '
			}
			dst = append(dst, c)
		}
		return dst
	}
	return append(dst, s...)
}

// HasToken reports whether the comma-separated list in the fields named
// name holds token, ignoring case (for Connection: close, Expect ...).
func (h *Header) HasToken(name, token string) bool {
	for i := range h.fields {
		if !strings.EqualFold(h.fields[i].Name, name) {
			continue
		}
		for part := range strings.SplitSeq(h.fields[i].Value, ",") {
			if strings.EqualFold(strings.Trim(part, " \t"), token) {
				return true
			}
		}
	}
	return false
}
