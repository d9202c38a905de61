package basic_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// fuzzMax is the MaxLength of the receivers under fuzzing: small, so that
// the fuzzer reaches the limit.
const fuzzMax = 16

// recorder records the messages of any receiver.
type recorder struct {
	msgs [][]byte
}

func (r *recorder) add(b []byte) {
	if len(b) > fuzzMax {
		panic("a message longer than MaxLength was delivered")
	}
	r.msgs = append(r.msgs, bytes.Clone(b))
}
func (r *recorder) LineReceived(b []byte)   { r.add(b) }
func (r *recorder) StringReceived(b []byte) { r.add(b) }

// receiverUnderFuzz builds a receiver whose messages go to rec.
type receiverUnderFuzz func(rec *recorder) internet.Protocol

var fuzzReceivers = map[string]receiverUnderFuzz{
	"LineReceiver": func(rec *recorder) internet.Protocol {
		return &basic.LineReceiver{Handler: rec, Delimiter: []byte("\r\n"), MaxLength: fuzzMax}
	},
	"LineOnlyReceiver": func(rec *recorder) internet.Protocol {
		return &basic.LineOnlyReceiver{Handler: rec, MaxLength: fuzzMax}
	},
	"Int8StringReceiver": func(rec *recorder) internet.Protocol {
		return &basic.Int8StringReceiver{Handler: rec, MaxLength: fuzzMax}
	},
	"Int16StringReceiver": func(rec *recorder) internet.Protocol {
		return &basic.Int16StringReceiver{Handler: rec, MaxLength: fuzzMax}
	},
	"Int32StringReceiver": func(rec *recorder) internet.Protocol {
		return &basic.Int32StringReceiver{Handler: rec, MaxLength: fuzzMax}
	},
	"NetstringReceiver": func(rec *recorder) internet.Protocol {
		return &basic.NetstringReceiver{Handler: rec, MaxLength: fuzzMax}
	},
}

// runReceiver delivers chunks to a new receiver and returns what it
// received and whether it closed the connection.
func runReceiver(build receiverUnderFuzz, chunks [][]byte) (string, bool) {
	rec := &recorder{}
	p := build(rec)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	deliver(p.DataReceived, chunks)
	return show(rec.msgs), tr.Disconnecting()
}

// FuzzReceiversAnySplit checks, for every receiver, the every-split
// property: the same bytes in one chunk, in three, or a byte at a time give
// the same messages and the same verdict on the connection, and no message
// over MaxLength is ever delivered. LineOnlyReceiver keeps Twisted's limit,
// which counts the start of a delimiter as part of an unterminated line: a
// line of MaxLength bytes whose delimiter arrives split closes the
// connection. For it, a split may only close the connection earlier: it
// delivers the first messages of the whole, and closes whenever the whole
// does.
func FuzzReceiversAnySplit(f *testing.F) {
	for _, seed := range []string{
		"hello\r\nworld\r\n", "hello\nworld\n", "0123456789abcdef\r\n", "0123456789abcdefg\r\n0\r\n",
		"\x00\x03abc\x00\x00", "\x03abc\x10", "\x00\x00\x00\x10", "\x00\x00\x00\x11",
		"3:abc,0:,", "16:0123456789abcdef,", "17:", "999999999999999999999:", "01:a,", "3:abcd",
	} {
		f.Add([]byte(seed), uint16(1), uint16(5))
	}
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		if len(data) > 1<<10 {
			return
		}
		i, j := int(a)%(len(data)+1), int(b)%(len(data)+1)
		i, j = min(i, j), max(i, j)
		var bytewise [][]byte
		for k := range data {
			bytewise = append(bytewise, data[k:k+1])
		}
		for name, build := range fuzzReceivers {
			whole, closed := runReceiver(build, [][]byte{data})
			for _, chunks := range [][][]byte{{data[:i], data[i:j], data[j:]}, bytewise} {
				got, gotClosed := runReceiver(build, chunks)
				if name == "LineOnlyReceiver" && gotClosed && strings.HasPrefix(whole, strings.TrimSuffix(got, "]")) {
					continue
				}
				if got != whole || gotClosed != closed {
					t.Fatalf("%s: in %d chunks: %s, closed %v; whole: %s, closed %v", name, len(chunks), got, gotClosed, whole, closed)
				}
			}
		}
	})
}

// A declared length over MaxLength, however large, closes the connection at
// once, and one exactly at MaxLength is a message.
func TestHostileLengths(t *testing.T) {
	tests := []struct {
		receiver string
		input    string
		want     string
		closed   bool
	}{
		{"NetstringReceiver", "999999999999999999999:", `[]`, true},
		{"NetstringReceiver", "99999999999999999999999999999999999999", `[]`, true},
		{"NetstringReceiver", "17:", `[]`, true},
		{"NetstringReceiver", "16:0123456789abcdef,", `["0123456789abcdef"]`, false},
		{"Int32StringReceiver", "\xff\xff\xff\xff", `[]`, true},
		{"Int32StringReceiver", "\x00\x00\x00\x11", `[]`, true},
		{"Int32StringReceiver", "\x00\x00\x00\x100123456789abcdef", `["0123456789abcdef"]`, false},
		{"Int8StringReceiver", "\x11", `[]`, true},
		{"LineReceiver", "0123456789abcdef\r\n", `["0123456789abcdef"]`, false},
		{"LineReceiver", "0123456789abcdefg", `[]`, false},
		{"LineReceiver", "0123456789abcdefg\r", `[]`, true},
		{"LineOnlyReceiver", "0123456789abcdefgh", `[]`, true},
		{"LineOnlyReceiver", "0123456789abcdefg", `[]`, true},
		{"LineOnlyReceiver", "0123456789abcdef", `[]`, false},
		{"LineOnlyReceiver", "0123456789abcdef\r", `[]`, true},
		{"LineOnlyReceiver", "0123456789abcdef\r\n", `["0123456789abcdef"]`, false},
	}
	for _, tt := range tests {
		got, closed := runReceiver(fuzzReceivers[tt.receiver], [][]byte{[]byte(tt.input)})
		if got != tt.want || closed != tt.closed {
			t.Errorf("%s %q: %s, closed %v; want %s, closed %v", tt.receiver, tt.input, got, closed, tt.want, tt.closed)
		}
	}
}
