package basic

import (
	"bytes"
	"testing"

	"github.com/twistgo/twist/twisttest"
)

// discardLines and discardStrings count the messages they receive.
type discardLines struct {
	LineReceiver
	n int
}

func (p *discardLines) LineReceived([]byte) { p.n++ }

type discardStrings struct {
	Int32StringReceiver
	n int
}

func (p *discardStrings) StringReceived([]byte) { p.n++ }

// TestBufferIsBounded checks that what a receiver keeps between reads stays
// within its maximum message length plus the framing, whatever it receives.
func TestBufferIsBounded(t *testing.T) {
	const max = 100
	lines := &discardLines{}
	lines.Handler, lines.MaxLength = lines, max
	lines.ConnectionMade(&twisttest.StringTransport{})
	strs := &discardStrings{}
	strs.Handler, strs.MaxLength = strs, max
	strs.ConnectionMade(&twisttest.StringTransport{})

	for _, tc := range []struct {
		name    string
		receive func([]byte)
		in      *stream
		limit   int
		input   []byte
	}{
		{"partial line", lines.DataReceived, &lines.in, max + 1, bytes.Repeat([]byte("x"), max+1)},
		{"many lines then a partial one", lines.DataReceived, &lines.in, max + 1,
			append(bytes.Repeat([]byte("line\r\n"), 10000), bytes.Repeat([]byte("y"), max)...)},
		{"partial string", strs.DataReceived, &strs.in, max + 4, append([]byte{0, 0, 0, max}, bytes.Repeat([]byte("z"), max-1)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for size := 1; size <= len(tc.input); size *= 7 {
				for rest := tc.input; len(rest) > 0; rest = rest[min(size, len(rest)):] {
					tc.receive(rest[:min(size, len(rest))])
					if len(tc.in.buf) > tc.limit {
						t.Fatalf("chunks of %d: %d bytes buffered, limit %d", size, len(tc.in.buf), tc.limit)
					}
				}
				tc.in.discard()
				tc.in.end(0)
			}
		})
	}
}

// TestSteadyStateDoesNotAllocate checks that parsing messages that lie within
// the received data, and completing those split across reads, allocates
// nothing.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	lineChunks := benchChunks(bytes.Repeat([]byte("x"), 62), []byte("\r\n"))
	lines := &discardLines{}
	lines.Handler = lines
	lines.ConnectionMade(&twisttest.StringTransport{})
	lines.DataReceived(lineChunks[0])
	strChunks := benchChunks([]byte{0, 0, 0, 60}, bytes.Repeat([]byte("x"), 60))
	strs := &discardStrings{}
	strs.Handler = strs
	strs.ConnectionMade(&twisttest.StringTransport{})
	strs.DataReceived(strChunks[0])

	for _, tc := range []struct {
		name string
		run  func()
		n    *int
	}{
		{"LineReceiver", func() { lines.DataReceived(lineChunks[1]) }, &lines.n},
		{"Int32StringReceiver", func() { strs.DataReceived(strChunks[1]) }, &strs.n},
	} {
		tc.run() // let the buffer for split messages grow once
		if allocs := testing.AllocsPerRun(20, tc.run); allocs != 0 {
			t.Errorf("%s: %v allocations per 64 KiB chunk", tc.name, allocs)
		}
		if *tc.n != 22*1024 {
			t.Errorf("%s: %d messages received, want %d", tc.name, *tc.n, 22*1024)
		}
	}
}

// benchChunks returns 64 KiB chunks of a stream of 64-byte messages (head
// followed by tail), cut so that every chunk boundary splits a message.
func benchChunks(head, tail []byte) (chunks [2][]byte) {
	msg := append(append([]byte(nil), head...), tail...)
	stream := bytes.Repeat(msg, 2*65536/len(msg)+1)
	// The first chunk starts on a message; the second, repeated, starts and
	// ends mid-message, continuing the stream.
	return [2][]byte{stream[:32], stream[32 : 32+65536]}
}

func BenchmarkLineReceiver(b *testing.B) {
	chunks := benchChunks(bytes.Repeat([]byte("x"), 62), []byte("\r\n"))
	p := &discardLines{}
	p.Handler = p
	p.ConnectionMade(&twisttest.StringTransport{})
	benchmarkReceiver(b, p.DataReceived, chunks)
}

func BenchmarkInt32StringReceiver(b *testing.B) {
	chunks := benchChunks([]byte{0, 0, 0, 60}, bytes.Repeat([]byte("x"), 60))
	p := &discardStrings{}
	p.Handler = p
	p.ConnectionMade(&twisttest.StringTransport{})
	benchmarkReceiver(b, p.DataReceived, chunks)
}

// benchmarkReceiver measures one 64 KiB chunk (1024 messages of 64 bytes)
// per op, and reports the time per message.
func benchmarkReceiver(b *testing.B, receive func([]byte), chunks [2][]byte) {
	receive(chunks[0])
	b.SetBytes(int64(len(chunks[1])))
	b.ReportAllocs()
	for b.Loop() {
		receive(chunks[1])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(chunks[1])/64), "ns/msg")
}
