package session

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// depthOf is the reference: the nesting depth of a valid document, found by
// recursion (fine for the small inputs of the tests), or -1 if a nested
// document is malformed where Validate does not look: a code-with-scope
// whose scope cannot be read (the second crasher, kept as a seed).
func depthOf(doc bsoncore.Document) int {
	deepest := 0
	elems, err := doc.Elements()
	if err != nil {
		return -1
	}
	for _, e := range elems {
		v := e.Value()
		var inner bsoncore.Document
		switch v.Type {
		case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
			inner = v.Data
		case bsoncore.TypeCodeWithScope:
			var ok bool
			if _, inner, ok = v.CodeWithScopeOK(); !ok {
				return -1
			}
		default:
			continue
		}
		d := depthOf(inner)
		if d < 0 {
			return -1
		}
		deepest = max(deepest, d)
	}
	return deepest + 1
}

func TestCheckDepth(t *testing.T) {
	doc := func(d any) []byte {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	flat := doc(bson.D{{Key: "a", Value: 1}})
	three := doc(bson.D{{Key: "a", Value: bson.A{bson.D{{Key: "b", Value: 1}}}}})
	for _, tc := range []struct {
		name string
		doc  []byte
		max  int
		want error
	}{
		{"flat at 1", flat, 1, nil},
		{"flat at 0", flat, 0, ErrTooDeep},
		{"three at 3", three, 3, nil},
		{"three at 2", three, 2, ErrTooDeep},
		{"short length", []byte{4, 0, 0, 0}, 5, ErrMalformed},
		{"no terminator", []byte{5, 0, 0, 0, 1}, 5, ErrMalformed},
		{"element past the end", []byte{12, 0, 0, 0, 3, 'a', 0, 9, 0, 0, 0, 0}, 5, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckDepth(bsoncore.TypeEmbeddedDocument, tc.doc, tc.max); !errors.Is(err, tc.want) {
				t.Fatalf("CheckDepth = %v, want %v", err, tc.want)
			}
		})
	}
	if err := CheckDepth(bsoncore.TypeInt32, []byte{1, 0, 0, 0}, 0); err != nil {
		t.Fatalf("a scalar: %v", err)
	}
}

// FuzzCheckDepth checks the iterative walk against the recursive
// reference: on a valid document they agree; on any input it never panics.
func FuzzCheckDepth(f *testing.F) {
	for _, d := range []any{
		bson.D{}, bson.D{{Key: "a", Value: bson.A{1, bson.D{{Key: "b", Value: bson.A{}}}}}},
		bson.D{{Key: "c", Value: bson.CodeWithScope{Code: "x", Scope: bson.D{{Key: "y", Value: bson.D{}}}}}},
	} {
		b, err := bson.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(2))
	}
	f.Add([]byte{5, 0, 0, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, doc []byte, max uint8) {
		err := CheckDepth(bsoncore.TypeEmbeddedDocument, doc, int(max))
		// What CheckDepth accepts is a valid document: the wire protocol
		// relies on it and validates no further.
		if err == nil && bsoncore.Document(doc).Validate() != nil {
			t.Fatalf("CheckDepth accepted %x, which Validate refuses", doc)
		}
		// CheckDepth also refuses bytes after the document, which
		// Validate ignores (the first crasher, kept as a seed).
		if bsoncore.Document(doc).Validate() != nil || int(binary.LittleEndian.Uint32(doc)) != len(doc) {
			return
		}
		// CheckDepth is stricter than Validate: it checks every nested
		// document's terminator and length, and walks a code-with-scope's
		// scope (the crashers kept as seeds are such documents). Where
		// it accepts, or finds too deep, it must agree with the reference.
		if errors.Is(err, ErrMalformed) {
			return
		}
		depth := depthOf(doc)
		if depth < 0 {
			if err == nil {
				t.Fatal("CheckDepth accepted a document whose scope cannot be read")
			}
			return
		}
		if got, want := err == nil, depth <= int(max); got != want {
			t.Fatalf("CheckDepth(max %d) = %v, depth %d", max, err, depthOf(doc))
		}
	})
}

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"short", "hello"},
		{"long", strings.Repeat("x", 10_000)},
		{"long multibyte", strings.Repeat("é", 10_000)},
		{"invalid", strings.Repeat("\xff", 10_000)},
		{"mixed invalid", strings.Repeat("a\xff", 10_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Bound(tc.in)
			if len(out) > 3*MaxText+32 || !utf8.ValidString(out) {
				t.Fatalf("Bound gave %d bytes, valid UTF-8 %v", len(out), utf8.ValidString(out))
			}
			if len(tc.in) <= MaxText && out != tc.in {
				t.Fatalf("Bound changed a short valid text: %q", out)
			}
		})
	}
}
