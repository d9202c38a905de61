package session

import (
	"bytes"
	"encoding/binary"
	"errors"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// ErrTooDeep is the error of CheckDepth for a value nested too deeply.
var ErrTooDeep = errors.New("documents and arrays nested too deeply")

// ErrMalformed is the error of CheckDepth for a value whose lengths do not
// add up.
var ErrMalformed = errors.New("malformed BSON")

// CheckDepth returns ErrTooDeep if the BSON value of type t in data nests
// documents and arrays more than max levels deep (a document holding only
// scalars is one level), and ErrMalformed if a nested document's or
// array's lengths and terminators do not add up. It walks the value with
// a stack of its own, never by recursion: a message of a few megabytes can
// nest a million levels deep, past what any goroutine stack holds. The
// bson package's decoders and validators recurse once per level, so a
// value is checked before any of them sees it.
func CheckDepth(t bsoncore.Type, data []byte, max int) error {
	body, ok := container(t, data)
	if !ok {
		return nil
	}
	var small [16][]byte
	stack := small[:0] // the elements left to read at each level
	push := func(b []byte) error {
		if len(stack) >= max {
			return ErrTooDeep
		}
		elems, ok := elements(b)
		if !ok {
			return ErrMalformed
		}
		stack = append(stack, elems)
		return nil
	}
	if body == nil {
		return ErrMalformed
	}
	if err := push(body); err != nil {
		return err
	}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if len(*top) == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		typ, v, rest, ok := ReadElement(*top)
		if !ok {
			return ErrMalformed
		}
		*top = rest
		inner, ok := container(typ, v)
		if !ok {
			continue
		}
		if inner == nil {
			return ErrMalformed
		}
		if err := push(inner); err != nil {
			return err
		}
	}
	return nil
}

// container returns the document or array to descend into for a value of
// type t: itself, or a code-with-scope's scope (nil if malformed); ok is
// false for the other types.
func container(t bsoncore.Type, data []byte) (body []byte, ok bool) {
	switch t {
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
		return data, true
	case bsoncore.TypeCodeWithScope:
		_, scope, ok := bsoncore.Value{Type: t, Data: data}.CodeWithScopeOK()
		if !ok {
			return nil, true
		}
		return scope, true
	}
	return nil, false
}

// elements returns the elements of the BSON document or array b, between
// its length and its terminating NUL, if its length is all of b.
func elements(b []byte) ([]byte, bool) {
	if len(b) < 5 || int64(int32(binary.LittleEndian.Uint32(b))) != int64(len(b)) || b[len(b)-1] != 0 {
		return nil, false
	}
	return b[4 : len(b)-1], true
}

// ReadElement reads the element at the start of b, after checking its
// value's length against b: its type, its value and the rest of b.
func ReadElement(b []byte) (t bsoncore.Type, v []byte, rest []byte, ok bool) {
	if len(b) < 2 {
		return 0, nil, nil, false
	}
	n := bytes.IndexByte(b[1:], 0)
	if n < 0 {
		return 0, nil, nil, false
	}
	t = bsoncore.Type(b[0])
	val, rest, ok := bsoncore.ReadValue(b[n+2:], t)
	return t, val.Data, rest, ok
}
