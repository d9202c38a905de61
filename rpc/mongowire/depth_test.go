package mongowire

import (
	"encoding/binary"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// deepCommand returns {echo: [{"": {"": ... {}}}]}, the argument nested
// depth documents deep, as raw BSON built in one pass.
func deepCommand(depth int) bson.Raw {
	open := []byte{0, 0, 0, 0, byte(bson.TypeEmbeddedDocument), 0}
	b := []byte{0, 0, 0, 0, byte(bson.TypeArray), 'e', 'c', 'h', 'o', 0}
	b = append(b, 0, 0, 0, 0, byte(bson.TypeEmbeddedDocument), '0', 0) // the array
	starts := []int{0, 10}
	for range depth {
		starts = append(starts, len(b))
		b = append(b, open...)
	}
	// The innermost document is empty: drop its element header.
	b = b[:len(b)-2]
	for i := len(starts) - 1; i >= 0; i-- {
		b = append(b, 0)
		binary.LittleEndian.PutUint32(b[starts[i]:], uint32(len(b)-starts[i]))
	}
	return b
}

// A command whose argument nests deeper than the functions' server allows
// is a BadArguments error, and the connection goes on; at two million
// levels, within the default message size, decoding it overflowed the
// stack and took the whole process down.
func TestDeeplyNestedArgumentIsBadArguments(t *testing.T) {
	f := newFixture(t)
	for _, depth := range []int{3, 2_000_000} {
		cmd := deepCommand(depth)
		if err := cmd.Validate(); err != nil {
			t.Fatalf("test document: %v", err)
		}
		r := f.send(opMsgFrame(1, 0, append([]byte{0}, cmd...)))
		if depth == 3 {
			checkOK(t, r.doc)
			continue
		}
		if got := field(t, r.doc, bson.TypeString, "codeName").StringValue(); got != "BadArguments" {
			t.Errorf("depth %d: codeName %q in %v", depth, got, r.doc)
		}
	}
	checkOK(t, f.send(command(t, 2, bson.D{{Key: "ping", Value: 1}})).doc)
}
