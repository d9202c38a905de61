package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/twisttest"
)

type celsius float64

// nilErr is an error type whose nil pointer, in a non-nil error, is still
// an error.
type nilErr struct{}

func (*nilErr) Error() string { return "nil *nilErr" }

// shimmed are functions of shapes that have a shim and, for comparison, a
// few of shapes that do not.
var shimmed = []struct {
	name string
	fn   any
	shim bool
}{
	{"add", func(a, b int) int { return a + b }, true},
	{"add64", func(a, b int64) int64 { return a + b }, true},
	{"div", func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, errors.New("division by zero")
		}
		return a / b, nil
	}, true},
	{"upper", strings.ToUpper, true},
	{"not", func(b bool) bool { return !b }, true},
	{"len", func(s string) int { return len(s) }, true},
	{"big", func() int { return 1 << 40 }, true},
	{"neg", func(n int) int { return -n }, true},
	{"concat", func(a, b string) (string, error) {
		if a == "" {
			return "", errors.New("empty")
		}
		return a + b, nil
	}, true},
	{"and", func(a, b bool) bool { return a && b }, true},
	{"format", func(n int, f float64) string { return fmt.Sprint(n, f) }, false},
	{"pick", func(s string, b bool) (string, error) {
		if !b {
			return "", errorf(BadArguments, "not %s", s)
		}
		return s, nil
	}, false},
	{"boom", func(n int) int { panic(fmt.Sprint("kaboom ", n)) }, true},
	{"typednil", func() (int, error) { var e *nilErr; return 1, e }, true},
	{"half", func(n int64) float64 { return float64(n) / 2 }, true},
	{"small", func(b int8) int8 { return b }, false},
	{"warm", func(c celsius) celsius { return c + 1 }, false},
	{"ctx", func(_ context.Context, n int) int { return n }, false},
}

// arguments are argument lists, well- and ill-typed, of every count the
// functions above take, and around the edges of the integer types.
var arguments = []bson.A{
	{},
	{1},
	{1, 2},
	{1, 2, 3},
	{int64(1) << 40, int64(1)},
	{1.0, 2.0},
	{1, 2.5},
	{1, "x"},
	{"abc"},
	{"abc", true},
	{"abc", false},
	{"a", "b"},
	{"", "b"},
	{true, false},
	{true},
	{nil},
	{int32(math.MaxInt32), 1},
	{int32(math.MinInt32)},
	{int64(math.MaxInt64), 0},
	{1e300, 1},
	{math.NaN()},
	{bson.Decimal128{}, 1},
	{bson.A{1}},
}

// TestShimsBehaveAsReflection calls every function above with every
// argument list through AppendCall, which takes the shim when there is one,
// and through Dispatch, which always reflects, and wants the same bytes or
// the same error from both.
func TestShimsBehaveAsReflection(t *testing.T) {
	s := NewServer()
	for _, f := range shimmed {
		if err := s.Register(f.name, f.fn); err != nil {
			t.Fatal(err)
		}
		if got := s.funcs[f.name].shim != nil; got != f.shim {
			t.Fatalf("%s: shim %v, want %v", f.name, got, f.shim)
		}
	}
	raws := []bson.RawArray{{4, 0, 0, 0}, {6, 0, 0, 0, 0}, {5, 0, 0, 0, 1}, {9, 0, 0, 0, 16, 'x', 0, 0, 0}}
	for _, a := range arguments {
		_, b, err := bson.MarshalValue(a)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	for _, f := range shimmed {
		for _, args := range raws {
			t.Run(fmt.Sprintf("%s%v", f.name, args), func(t *testing.T) {
				got, d, gotErr := s.AppendCall([]byte("prefix"), context.Background(), nil, "r", f.name, args)
				if d != nil {
					t.Fatal("a synchronous function gave a Deferred")
				}
				want, wantErr := reflected(s, f.name, args)
				if gotErr != nil || wantErr != nil {
					if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
						t.Fatalf("error %v, want %v", gotErr, wantErr)
					}
					if string(got) != "prefix" {
						t.Fatalf("appended %q after an error", got)
					}
					return
				}
				if string(got) != string(want) {
					t.Fatalf("appended %x, want %x", got, want)
				}
			})
		}
	}
}

// reflected is what AppendCall should give: Dispatch's result, appended.
func reflected(s *Server, name string, args bson.RawArray) ([]byte, error) {
	d := s.Dispatch(context.Background(), nil, name, args)
	v, err := d.Result()
	if err != nil {
		d.AddErrback(ignore)
		return nil, asError(err)
	}
	return appendResult([]byte("prefix"), "r", v)
}

func TestShimmedCallDoesNotAllocate(t *testing.T) {
	s := NewServer()
	s.Register("add", func(a, b int) int { return a + b })
	_, args, _ := bson.MarshalValue(bson.A{1000, 2000})
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if _, d, err := s.AppendCall(buf, nil, nil, "reply", "add", args); d != nil || err != nil {
			t.Fatal(d, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call", allocs)
	}
}

func TestAppendCallOfAsyncFunctionGivesItsDeferred(t *testing.T) {
	s, ds := asyncServer(t)
	_, args, _ := bson.MarshalValue(bson.A{1})
	dst, d, err := s.AppendCall(nil, nil, nil, "reply", "later", args)
	if d == nil || err != nil || len(dst) != 0 {
		t.Fatalf("AppendCall = %x, %v, %v", dst, d, err)
	}
	(*ds)[0].Callback("done")
	if v, _ := d.Result(); v != "done" {
		t.Fatalf("result %v", v)
	}
	if _, _, err := s.AppendCall(nil, nil, nil, "reply", "nosuch", args); !errors.Is(err, ErrNoSuchFunction) {
		t.Fatalf("unknown function: %v", err)
	}
}

// fastSeeds are calls of the functions of shimmed with every argument
// list, with and without the optional fields, and a few near misses of
// the common shape.
func fastSeeds(t testing.TB) [][]byte {
	doc := func(d bson.D) []byte {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	body := func(name string, args bson.A) bson.D {
		return bson.D{{Key: "funcname", Value: name}, {Key: "arguments", Value: args}}
	}
	var seeds [][]byte
	for i, f := range shimmed {
		for j, args := range arguments {
			var extra bson.D
			switch (i + j) % 5 {
			case 1:
				extra = bson.D{{Key: "id", Value: j}}
			case 2:
				extra = bson.D{{Key: "id", Value: "k"}, {Key: "maxTimeMS", Value: int64(250)}}
			case 3:
				extra = bson.D{{Key: "noreply", Value: true}}
			case 4:
				extra = bson.D{{Key: "maxTimeMS", Value: int32(5)}, {Key: "id", Value: bson.NewObjectID()}, {Key: "noreply", Value: false}}
			}
			seeds = append(seeds, doc(append(bson.D{{Key: "call", Value: body(f.name, args)}}, extra...)))
		}
	}
	return append(seeds,
		doc(bson.D{{Key: "id", Value: 1}, {Key: "call", Value: body("add", bson.A{1, 2})}}),
		doc(bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: "big"}}}}),
		doc(bson.D{{Key: "call", Value: bson.D{{Key: "arguments", Value: bson.A{1}}, {Key: "funcname", Value: "neg"}}}}),
		doc(bson.D{{Key: "call", Value: body("add", bson.A{1, 2})}, {Key: "id", Value: 1}, {Key: "id", Value: 2}}),
		doc(bson.D{{Key: "call", Value: body("add", bson.A{1, 2})}, {Key: "maxTimeMS", Value: -1}}),
		doc(bson.D{{Key: "call", Value: body("add", bson.A{1, 2})}, {Key: "id", Value: 1.5}, {Key: "noreply", Value: 1}}),
		doc(bson.D{{Key: "call", Value: body("add", bson.A{1, 2})}, {Key: "extra", Value: 1}}),
		doc(bson.D{{Key: "call", Value: append(body("add", bson.A{1, 2}), bson.E{Key: "x", Value: 1})}}),
		doc(bson.D{{Key: "call", Value: body("add", nil)}}),
		doc(bson.D{{Key: "reply", Value: 3}, {Key: "call", Value: body("add", bson.A{1, 2})}}),
	)
}

// FuzzFastCall is the differential test of the single-pass parser: for any
// message, the framed protocol (which tries the fast path first) must
// write exactly what the general path alone writes.
func FuzzFastCall(f *testing.F) {
	for _, b := range fastSeeds(f) {
		f.Add(b)
	}
	s := NewServer()
	for _, fn := range shimmed {
		if err := s.Register(fn.name, fn.fn); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		general, fast := connect(t, s), connect(t, s)
		general.p.(*serverProtocol).message(doc)
		fast.p.(*serverProtocol).Message(doc)
		if got, want := fast.tr.Value(), general.tr.Value(); !bytes.Equal(got, want) {
			t.Fatalf("fast path wrote\n%x\ngeneral path\n%x", got, want)
		}
		var c fastCall
		if s.parseFast(doc, &c) {
			if m, err := ParseMessage(doc); err != nil || m.Kind != KindCall {
				t.Fatalf("fast path took what the general path reads as %v, %v", m.Kind, err)
			}
		}
	})
}

func TestParseFastTakesTheCommonShape(t *testing.T) {
	s := NewServer()
	for _, fn := range shimmed {
		if err := s.Register(fn.name, fn.fn); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		doc  []byte
		fast bool
	}{
		{call(t, 7, "add", 1, 2)[4:], true},
		{call(t, "k", "add64", int64(1)<<40, 2)[4:], true},
		{call(t, nil, "div", 1.5, 2)[4:], true},
		{call(t, 1, "upper", "abc")[4:], true},
		{call(t, 1, "and", true, false)[4:], true},
		{call(t, 1, "big")[4:], true},
		{noreply(t, "neg", 3)[4:], true},
		{call(t, 1, "add", 1.0, 2)[4:], false},      // a double for an int: general rules
		{call(t, 1, "add", 1)[4:], false},           // too few: the general path explains
		{call(t, 1, "format", 1, 2.5)[4:], false},   // no shim
		{call(t, 1, "nosuch", 1)[4:], false},        // no such function
		{call(t, 1.5, "add", 1, 2)[4:], true},       // a double id is plain
		{call(t, bson.A{}, "add", 1, 2)[4:], false}, // an array id is not
	} {
		var c fastCall
		if got := s.parseFast(tc.doc, &c); got != tc.fast {
			m, _ := ParseMessage(tc.doc)
			t.Errorf("%s%v: fast %v, want %v", m.Func, m.Args, got, tc.fast)
		}
	}
}

// TestFramedCallDoesNotAllocate: a call of a shimmed function with scalar
// arguments, from its frame to its answer written, allocates nothing at
// steady state.
func TestFramedCallDoesNotAllocate(t *testing.T) {
	s := NewServer()
	s.Register("add", func(a, b int) int { return a + b })
	s.Register("half", func(n int64) float64 { return float64(n) / 2 })
	s.Register("not", func(b bool) bool { return !b })
	p := s.Factory().BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	for _, in := range [][]byte{call(t, 7, "add", 1, 2), call(t, "x", "half", int64(5)), call(t, nil, "not", true)} {
		allocs := testing.AllocsPerRun(100, func() {
			p.DataReceived(in)
			tr.Clear()
		})
		if allocs != 0 {
			t.Errorf("%v allocations per call", allocs)
		}
	}
}

// FuzzShape is the differential test of the shape a connection keeps of
// its last call (shape.go): for any two messages a and b, one connection
// that reads a, b, a again, taking the shape of one for the other when it
// fits, must write exactly what another writes by the general path alone.
func FuzzShape(f *testing.F) {
	doc := func(id any, name string, args bson.A, extra ...bson.E) []byte {
		d := bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: name}, {Key: "arguments", Value: args}}}}
		if id != nil {
			d = append(d, bson.E{Key: "id", Value: id})
		}
		b, err := bson.Marshal(append(d, extra...))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	// A boolean argument of 2, which only 0 and 1 may be, in the shape of
	// and(true, true).
	badBool := doc(1, "and", bson.A{true, true})
	badBool[bytes.LastIndex(badBool, []byte{0x08, '1', 0})+3] = 2
	for _, p := range [][2][]byte{
		{doc(7, "add", bson.A{1, 2}), doc(8, "add", bson.A{3, 4})},
		{doc(7, "add", bson.A{1, 2}), doc(7, "add", bson.A{1, 2.5})},
		{doc(nil, "add64", bson.A{int64(1) << 40, int64(2)}, bson.E{Key: "maxTimeMS", Value: int64(250)}),
			doc(nil, "add64", bson.A{int64(5), int64(6)}, bson.E{Key: "maxTimeMS", Value: int64(-1)})},
		{doc(1, "and", bson.A{true, true}), badBool},
		{doc(1.5, "div", bson.A{1.5, 2.0}), doc(2.5, "div", bson.A{1.0, 0.0})},
		{doc(bson.NewObjectID(), "neg", bson.A{1}, bson.E{Key: "noreply", Value: true}),
			doc(bson.NewObjectID(), "neg", bson.A{2}, bson.E{Key: "noreply", Value: false})},
		{doc(1, "big", bson.A{}), doc(2, "big", bson.A{})},
		{doc(1, "boom", bson.A{1}), doc(2, "boom", bson.A{2})},
		{doc("a", "upper", bson.A{"x"}), doc("b", "upper", bson.A{"y"})},
		{doc(1, "neg", bson.A{1}), doc(1, "half", bson.A{int64(1)})},
	} {
		f.Add(p[0], p[1])
	}
	s := NewServer()
	for _, fn := range shimmed {
		if err := s.Register(fn.name, fn.fn); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		general, fast := connect(t, s), connect(t, s)
		for _, doc := range [][]byte{a, b, a} {
			general.p.(*serverProtocol).message(doc)
			fast.p.(*serverProtocol).Message(doc)
		}
		if got, want := fast.tr.Value(), general.tr.Value(); !bytes.Equal(got, want) {
			t.Fatalf("with shapes\n%x\ngeneral path\n%x", got, want)
		}
	})
}

// TestShapeIsKept: a connection reads a call of the shape of the one
// before from its shape, and keeps none for a string argument.
func TestShapeIsKept(t *testing.T) {
	s := NewServer()
	for _, fn := range shimmed {
		if err := s.Register(fn.name, fn.fn); err != nil {
			t.Fatal(err)
		}
	}
	c := connect(t, s)
	p := c.p.(*serverProtocol)
	for i, tc := range []struct {
		frame []byte
		kept  bool
		want  any
	}{
		{call(t, 1, "add", 1, 2), true, 3},
		{call(t, 2, "add", 5, 6), true, 11},
		{call(t, 3, "upper", "abc"), false, "ABC"},
		{call(t, 4, "neg", 4), true, -4},
	} {
		msgs := c.send(tc.frame)
		if len(msgs) != 1 || msgs[0].Kind != KindReply {
			t.Fatalf("call %d: answered %v", i, msgs)
		}
		if got := p.shape.f != nil; got != tc.kept {
			t.Errorf("call %d: shape kept %v, want %v", i, got, tc.kept)
		}
		var got any
		if err := bson.UnmarshalValue(msgs[0].Value.Type, msgs[0].Value.Value, &got); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("call %d: reply %v, want %v", i, got, tc.want)
		}
	}
}
