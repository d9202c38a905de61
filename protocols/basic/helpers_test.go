package basic_test

import (
	"bytes"
	"fmt"
)

// splits returns every way to deliver data as two chunks, and as chunks of
// every size from 1 to 10, each way named.
func splits(data []byte) map[string][][]byte {
	out := map[string][][]byte{}
	for i := 0; i <= len(data); i++ {
		out[fmt.Sprintf("split at %d", i)] = [][]byte{data[:i], data[i:]}
	}
	for size := 1; size <= 10; size++ {
		var chunks [][]byte
		for rest := data; len(rest) > 0; rest = rest[min(size, len(rest)):] {
			chunks = append(chunks, rest[:min(size, len(rest))])
		}
		out[fmt.Sprintf("chunks of %d", size)] = chunks
	}
	return out
}

// deliver passes chunks to receive one by one, each in a buffer that is
// overwritten afterwards, as a transport reuses its read buffer.
func deliver(receive func([]byte), chunks [][]byte) {
	for _, c := range chunks {
		buf := bytes.Clone(c)
		receive(buf)
		for i := range buf {
			buf[i] = '#'
		}
	}
}

// show renders received messages for comparison.
func show(msgs [][]byte) string { return fmt.Sprintf("%q", msgs) }
