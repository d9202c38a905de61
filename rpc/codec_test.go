package rpc

import (
	"bytes"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The hand-written encoding of arguments is the bson package's.
func TestAppendCallFrameEncodesArgumentsAsBSONDoes(t *testing.T) {
	args := []any{nil, 1, math.MaxInt32 + 1, int32(-3), int64(4), 2.5, "s", true, []string{"a"}, bson.D{{Key: "k", Value: 1}}, uint8(9)}
	b, err := appendCallFrame(nil, "f", args, 7, 1500*time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	ms := frames(t, b)
	if len(ms) != 1 || ms[0].Func != "f" || idOf(t, ms[0]) != 7 {
		t.Fatalf("frame %+v", ms)
	}
	_, want, err := bson.MarshalValue(args)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ms[0].Args, want) {
		t.Errorf("arguments\n%v, want\n%v", ms[0].Args, bson.RawArray(want))
	}
	if ms, _ := bson.Raw(b[4:]).Lookup("maxTimeMS").AsInt64OK(); ms != 2 {
		t.Errorf("maxTimeMS %d, want 1.5 ms rounded up", ms)
	}
	if _, err := appendCallFrame(nil, "f", []any{make(chan int)}, 1, 0); err == nil {
		t.Error("encoded a channel")
	}
}

// decodeReply decodes as the bson package does, fast paths or not.
func TestDecodeReply(t *testing.T) {
	raw := func(v any) bson.RawValue {
		typ, data, err := bson.MarshalValue(v)
		if err != nil {
			t.Fatal(err)
		}
		return bson.RawValue{Type: typ, Value: data}
	}
	for _, tc := range []struct {
		name  string
		reply any
		into  func() any
		want  any
		fails bool
	}{
		{"int32 into int", int32(3), func() any { return new(int) }, 3, false},
		{"int64 into int", int64(1 << 40), func() any { return new(int) }, 1 << 40, false},
		{"whole double into int", 3.0, func() any { return new(int) }, 3, false},
		{"fraction into int", 3.5, func() any { return new(int) }, nil, true},
		{"int32 into int64", int32(-1), func() any { return new(int64) }, int64(-1), false},
		{"double", 0.5, func() any { return new(float64) }, 0.5, false},
		{"int32 into float64", int32(2), func() any { return new(float64) }, 2.0, false},
		{"string", "s", func() any { return new(string) }, "s", false},
		{"string into int", "s", func() any { return new(int) }, nil, true},
		{"bool", true, func() any { return new(bool) }, true, false},
		{"array", bson.A{"a"}, func() any { return new([]string) }, []string{"a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			into := tc.into()
			err := decodeReply(raw(tc.reply), into)
			if tc.fails {
				if err == nil {
					t.Fatalf("decoded into %T", into)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := bson.Marshal(bson.D{{Key: "v", Value: into}})
			want, _ := bson.Marshal(bson.D{{Key: "v", Value: tc.want}})
			if !bytes.Equal(got, want) {
				t.Fatalf("got %v, want %v", bson.Raw(got), bson.Raw(want))
			}
		})
	}
}

// FuzzClientAnswers feeds arbitrary answers to a client with calls
// pending: none may panic, and the connection stays open.
func FuzzClientAnswers(f *testing.F) {
	for _, doc := range []bson.D{
		{{Key: "reply", Value: 1}, {Key: "id", Value: int64(1)}},
		{{Key: "error", Value: bson.D{{Key: "message", Value: "x"}}}, {Key: "id", Value: int64(2)}},
		{{Key: "error", Value: 1}, {Key: "id", Value: int64(1)}},
		{{Key: "info", Value: bson.D{{Key: "functions", Value: 1}}}, {Key: "id", Value: int64(3)}},
		{{Key: "reply", Value: bson.A{bson.A{bson.A{}}}}, {Key: "id", Value: int64(1)}},
	} {
		b, _ := bson.Marshal(doc)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, p, tr := fakeClient(t, WithClientMaxDepth(2))
		c.CallRemote("a")
		c.CallRemote("b")
		c.InfoRemote()
		p.StringReceived(doc)
		if tr.Disconnecting() || tr.Aborted() {
			t.Fatal("an answer closed the connection")
		}
	})
}
