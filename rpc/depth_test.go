package rpc

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// nestedArgs returns an argument array holding one document nested depth
// levels deep: [{"": {"": ... {}}}], each level 7 bytes.
func nestedArgs(depth int) bson.RawArray {
	b := make([]byte, 0, 7*depth+10)
	b = append(b, 0, 0, 0, 0, byte(bson.TypeEmbeddedDocument), '0', 0) // the array, element "0"
	for range depth - 1 {
		b = append(b, 0, 0, 0, 0, byte(bson.TypeEmbeddedDocument), 0)
	}
	b = append(b, 5, 0, 0, 0, 0) // the innermost, empty document
	for range depth - 1 {
		b = append(b, 0)
	}
	b = append(b, 0) // the array's end
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	for i := range depth - 1 {
		// The document of level i starts after the array's 7 bytes and
		// i levels of 6, and ends before i closing NULs and the array's.
		start := 7 + 6*i
		binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-1-i-start))
	}
	return b
}

func TestNestedArgumentsWithinTheDepthLimit(t *testing.T) {
	s := NewServer(WithMaxDepth(8))
	if err := s.Register("echo", func(v any) any { return v }); err != nil {
		t.Fatal(err)
	}
	for _, depth := range []int{1, 8} {
		args := nestedArgs(depth)
		if err := bson.Raw(args).Validate(); err != nil {
			t.Fatalf("depth %d: test document: %v", depth, err)
		}
		d := s.Dispatch(context.Background(), nil, "echo", args)
		if _, err := d.Result(); err != nil {
			t.Errorf("depth %d: %v", depth, err)
		}
	}
}

// A document nested deeper than the limit is refused before the bson package,
// whose decoders recurse per level, sees it: at a few million levels, well
// within the default message size, they overflowed the stack, a fatal error
// that no recover catches, taking the whole server down.
func TestNestedArgumentsPastTheDepthLimitAreBadArguments(t *testing.T) {
	deep := func(opts ...ServerOption) *Server {
		s := NewServer(opts...)
		for name, fn := range map[string]any{
			"any":    func(v any) {},
			"map":    func(m map[string]any) {},
			"slice":  func(xs []any) {},
			"struct": func(p struct{ X any }) {},
			"raw":    func(bson.RawValue) {},
		} {
			if err := s.Register(name, fn); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	tests := []struct {
		name  string
		s     *Server
		depth int
	}{
		{"limit+1", deep(WithMaxDepth(8)), 9},
		{"default limit+1", deep(), DefaultMaxDepth + 1},
		{"two million levels", deep(), 2_000_000},
	}
	for _, tt := range tests {
		args := nestedArgs(tt.depth)
		for _, fn := range []string{"any", "map", "slice", "struct", "raw"} {
			d := tt.s.Dispatch(context.Background(), nil, fn, args)
			_, err := d.Result()
			d.AddErrback(ignore)
			if !errors.Is(err, ErrBadArguments) {
				t.Errorf("%s: %s: %v, want BadArguments", tt.name, fn, err)
			}
		}
	}
}

// A reply nested deeper than the client's limit fails its call, so that
// decoding it (Call does) cannot overflow the stack.
func TestClientNestedReplyPastTheDepthLimitIsBadMessage(t *testing.T) {
	c, p, _ := fakeClient(t, WithClientMaxDepth(8))
	for _, depth := range []int{8, 9, 2_000_000} {
		d := c.CallRemote("f")
		id := c.nextID
		// The reply, an array, is the first level.
		reply := bson.RawValue{Type: bson.TypeArray, Value: nestedArgs(depth - 1)}
		doc, err := AppendMessage(nil, &Message{Kind: KindReply, ID: bson.RawValue{Type: bson.TypeInt64, Value: binary.LittleEndian.AppendUint64(nil, uint64(id))}, Value: reply})
		if err != nil {
			t.Fatal(err)
		}
		p.DataReceived(append(binary.BigEndian.AppendUint32(nil, uint32(len(doc))), doc...))
		_, err = d.Result()
		d.AddErrback(ignore)
		if ok := errors.Is(err, ErrBadMessage); ok != (depth > 8) {
			t.Errorf("depth %d: %v", depth, err)
		}
	}
}
