package rpc

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// shortArgumentsCall is {call: {funcname: "add", arguments: A}} where A is an
// array whose length field says 4: too short to hold its terminating NUL.
func shortArgumentsCall() []byte {
	call := bsoncore.BuildDocumentFromElements(nil,
		bsoncore.AppendStringElement(nil, "funcname", "add"),
		bsoncore.AppendArrayElement(nil, "arguments", []byte{4, 0, 0, 0}))
	return bsoncore.BuildDocumentFromElements(nil, bsoncore.AppendDocumentElement(nil, "call", call))
}

// fuzzSeeds are documents for the fuzz targets to start from: calls of every
// shape testServer serves, the other kinds of message, and malformed ones.
func fuzzSeeds(t testing.TB) [][]byte {
	doc := func(d bson.D) []byte {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	callDoc := func(name string, args bson.A, extra ...bson.E) []byte {
		return doc(append(bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: name}, {Key: "arguments", Value: args}}}}, extra...))
	}
	return [][]byte{
		callDoc("add", bson.A{1, 2}, bson.E{Key: "id", Value: 7}),
		callDoc("add", bson.A{int64(1), 2.0}),
		callDoc("add", bson.A{1, "x", 3}, bson.E{Key: "id", Value: "k"}),
		callDoc("upper", bson.A{"abc"}, bson.E{Key: "noreply", Value: true}),
		callDoc("div", bson.A{1.5, 0}),
		callDoc("norm", bson.A{bson.D{{Key: "x", Value: 3}, {Key: "y", Value: 4}}}),
		callDoc("sum", bson.A{bson.A{1, 2, 3}}),
		callDoc("boom", bson.A{}),
		callDoc("nosuch", nil),
		doc(bson.D{{Key: "info", Value: bson.D{}}, {Key: "id", Value: 1}}),
		doc(bson.D{{Key: "reply", Value: 3}, {Key: "id", Value: 1}}),
		doc(bson.D{{Key: "error", Value: bson.D{{Key: "message", Value: "x"}}}}),
		doc(bson.D{{Key: "call", Value: 1}}),
		shortArgumentsCall(),
		{5, 0, 0, 0, 0},
		{9, 0, 0, 0, 0},
		callDoc("add", bson.A{1, 2}, bson.E{Key: "id", Value: 7}, bson.E{Key: "maxTimeMS", Value: int32(100)}),
		callDoc("add", bson.A{1, 2}, bson.E{Key: "id", Value: bson.D{{Key: "x", Value: 1}}}),
		callDoc("add", bson.A{1, 2}, bson.E{Key: "extra", Value: 1}),
		doc(bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: "add"}}}, {Key: "id", Value: bson.RawValue{Type: bson.TypeArray, Value: nestedArrays(300)}}}),
		rawCallDoc("add", nestedArrays(300)),
	}
}

// rawCallDoc is {call: {funcname: name, arguments: args}}.
func rawCallDoc(name string, args bson.RawArray) []byte {
	b, _ := AppendMessage(nil, &Message{Kind: KindCall, Func: name, Args: args})
	return b
}

// FuzzCallArguments dispatches one argument array to functions of every
// kind of parameter the registry decodes: whatever the array holds,
// however deep or wrong-typed, the call succeeds or fails with an *Error of
// a kind a call can fail with, whose detail is bounded, and never panics or
// overflows the stack.
func FuzzCallArguments(f *testing.F) {
	s := NewServer(WithMaxDepth(20))
	type point struct {
		X, Y int
		Tags []string
	}
	fns := map[string]any{
		"ints":    func(a int, b int8, c uint) {},
		"float":   func(x float64) {},
		"string":  func(s string, b bool) {},
		"bytes":   func(b []byte) {},
		"slice":   func(xs []any) {},
		"map":     func(m map[string]any) {},
		"struct":  func(p point) {},
		"pointer": func(p *int) {},
		"raw":     func(v bson.RawValue) {},
		"any":     func(v any) {},
		"add":     func(a, b int) (int, error) { return a + b, nil },
	}
	names := make([]string, 0, len(fns))
	for name, fn := range fns {
		if err := s.Register(name, fn); err != nil {
			f.Fatal(err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	arr := func(v ...any) []byte {
		_, b, err := bson.MarshalValue(bson.A(v))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	for i, args := range [][]byte{
		arr(1, int8(2), uint(3)), arr(1.5), arr("s", true), arr([]byte("b")), arr(bson.A{1, "x"}),
		arr(bson.D{{Key: "k", Value: 1}}), arr(bson.D{{Key: "x", Value: 1}, {Key: "tags", Value: bson.A{"a"}}}),
		arr(nil), arr(bson.D{{Key: "$numberLong", Value: "x"}}), arr(1, 2), arr(int64(1)<<40, 2.5),
		arr("x", 1), arr(bson.A{bson.A{bson.A{}}}), nestedArrays(25), nestedArrays(1000), nestedArgs(30),
		{4, 0, 0, 0}, {5, 0, 0, 0, 0}, {12, 0, 0, 0, 4, '0', 0, 5, 0, 0, 0, 0},
	} {
		f.Add(uint8(i), args)
	}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		name := names[int(which)%len(names)]
		d := s.Dispatch(context.Background(), nil, name, args)
		_, err := d.Result()
		if err == nil {
			return
		}
		d.AddErrback(ignore)
		var e *Error
		if !errors.As(err, &e) || (e.Message != BadArguments && e.Message != HandlerError) {
			t.Fatalf("%s: %v, want BadArguments or HandlerError", name, err)
		}
		if len(e.Detail) > 1024 {
			t.Fatalf("%s: a %d-byte detail", name, len(e.Detail))
		}
	})
}

func TestShortArgumentArrayIsBadMessage(t *testing.T) {
	doc := shortArgumentsCall()
	ms := connect(t, testServer(t)).send(binary.BigEndian.AppendUint32(nil, uint32(len(doc))), doc)
	if len(ms) != 1 || !errors.Is(ms[0].Err, ErrBadMessage) {
		t.Fatalf("answers %+v", ms)
	}
}

func TestDispatchMalformedArgumentsIsBadArguments(t *testing.T) {
	s := testServer(t)
	for _, args := range []bson.RawArray{{4, 0, 0, 0}, {1}, {6, 0, 0, 0, 0}, {5, 0, 0, 0, 1}, {7, 0, 0, 0, 16, 0, 0}} {
		d := s.Dispatch(context.Background(), nil, "add", args)
		_, err := d.Result()
		d.AddErrback(ignore)
		if !errors.Is(err, ErrBadArguments) {
			t.Errorf("add(%x): %v, want BadArguments", []byte(args), err)
		}
	}
}

// FuzzParseMessage checks that ParseMessage never panics and accepts only
// well-formed documents, and that what it accepts encodes back to a message
// that parses the same.
func FuzzParseMessage(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := ParseMessage(doc)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v, want BadMessage", err)
			}
			return
		}
		if err := bsoncore.Document(doc).Validate(); err != nil {
			t.Fatalf("accepted a document that does not validate: %v", err)
		}
		b, err := AppendMessage(nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseMessage(b)
		if err != nil {
			t.Fatalf("re-encoded message: %v", err)
		}
		if m2.Kind != m.Kind || m2.Func != m.Func || m2.NoReply != m.NoReply || !m2.ID.Equal(m.ID) {
			t.Fatalf("round trip %+v, want %+v", m2, m)
		}
	})
}

// FuzzServer feeds one framed document to a server and checks that it
// answers as the protocol says: a BadMessage error for what does not parse,
// one answer with the call's id for a call, none for a noreply call.
func FuzzServer(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	s := testServer(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 1<<16 {
			return
		}
		c := connect(t, s)
		c.p.DataReceived(binary.BigEndian.AppendUint32(nil, uint32(len(doc))))
		c.p.DataReceived(doc)
		n := len(c.tr.Value())
		ms := c.take()
		if len(ms) == 1 && ms[0].Kind == KindError && n > 1024 {
			t.Fatalf("a %d-byte error answer", n)
		}
		m, err := ParseMessage(doc)
		switch {
		case err != nil:
			if len(ms) != 1 || !errors.Is(ms[0].Err, ErrBadMessage) {
				t.Fatalf("malformed document: answers %+v", ms)
			}
		case m.Kind == KindCall && m.NoReply:
			if len(ms) != 0 {
				t.Fatalf("noreply call answered %+v", ms)
			}
		default:
			if len(ms) != 1 || !ms[0].ID.Equal(m.ID) {
				t.Fatalf("answers %+v to %+v", ms, m)
			}
			if m.Kind == KindCall && ms[0].Kind != KindReply && ms[0].Kind != KindError {
				t.Fatalf("call answered with %v", ms[0].Kind)
			}
		}
	})
}
