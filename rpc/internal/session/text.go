package session

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxText is the most bytes of an error text an answer carries, about what
// a person reads: a detail that quotes a peer's input is cut there, so
// that no answer is much larger than a fixed size, whatever was sent.
const MaxText = 256

// Bound returns s if it has at most MaxText bytes, and otherwise its
// first bytes, cut at a character boundary, with a note of how long it
// was. Runs of bytes that are not UTF-8 become U+FFFD, which clients'
// decoders require; nothing else is escaped, so the result has at most
// 3*MaxText bytes and a short note.
func Bound(s string) string {
	if len(s) <= MaxText {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	cut := MaxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "\uFFFD") + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
