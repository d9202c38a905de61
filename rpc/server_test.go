package rpc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
)

type point struct {
	X int `bson:"x"`
	Y int `bson:"y"`
}

type poetry struct{ poems map[string]string }

func (p *poetry) Get(name string) (string, error) {
	if s, ok := p.poems[name]; ok {
		return s, nil
	}
	return "", errors.New("no such poem")
}

func (p *poetry) Count() int { return len(p.poems) }

func testServer(t testing.TB, opts ...ServerOption) *Server {
	s := NewServer(opts...)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Register("add", func(a, b int) int { return a + b }))
	must(s.Register("upper", strings.ToUpper))
	must(s.Register("div", func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, errors.New("division by zero")
		}
		return a / b, nil
	}))
	must(s.Register("nothing", func() {}))
	must(s.Register("fail", func() error { return errors.New("it failed") }))
	must(s.Register("boom", func() int { panic("kaboom") }))
	must(s.Register("small", func(b int8) int8 { return b }))
	must(s.Register("unsigned", func(u uint) uint { return u }))
	must(s.Register("not", func(b bool) bool { return !b }))
	must(s.Register("norm", func(p point) int { return p.X*p.X + p.Y*p.Y }))
	must(s.Register("sum", func(xs []int) int {
		n := 0
		for _, x := range xs {
			n += x
		}
		return n
	}))
	must(s.Register("keys", func(m map[string]int) int { return len(m) }))
	must(s.Register("bytes", func(b []byte) int { return len(b) }))
	must(s.Register("raw", func(v bson.RawValue) string { return v.Type.String() }))
	must(s.Register("pt", func() point { return point{1, 2} }))
	must(s.Register("ctxok", func(ctx context.Context, a int) (int, error) { return a, ctx.Err() }))
	must(s.Register("refuse", func() error { return errorf(BadArguments, "never") }))
	return s
}

func TestDispatchResults(t *testing.T) {
	s := testServer(t)
	tests := []struct {
		name string
		fn   string
		args bson.A
		want any
	}{
		{"ints", "add", bson.A{1, 2}, int32(3)},
		{"int64 arguments", "add", bson.A{int64(1) << 40, int64(1)}, int64(1)<<40 + 1},
		{"integral doubles", "add", bson.A{1.0, 2.0}, int32(3)},
		{"string", "upper", bson.A{"abc"}, "ABC"},
		{"value and nil error", "div", bson.A{1, 4}, 0.25},
		{"no result", "nothing", nil, nil},
		{"int8", "small", bson.A{-128}, int32(-128)},
		{"uint", "unsigned", bson.A{7}, int64(7)},
		{"bool", "not", bson.A{false}, true},
		{"struct", "norm", bson.A{bson.M{"x": 3, "y": 4}}, int32(25)},
		{"slice", "sum", bson.A{bson.A{1, 2, 3}}, int32(6)},
		{"map", "keys", bson.A{bson.M{"a": 1, "b": 2}}, int32(2)},
		{"binary", "bytes", bson.A{[]byte("abc")}, int32(3)},
		{"raw value", "raw", bson.A{"x"}, "string"},
		{"struct result", "pt", nil, bson.D{{Key: "x", Value: int32(1)}, {Key: "y", Value: int32(2)}}},
		{"context", "ctxok", bson.A{5}, int32(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connect(t, s)
			args := tt.args
			if args == nil {
				args = bson.A{}
			}
			ms := c.send(call(t, 1, tt.fn, args...))
			if len(ms) != 1 {
				t.Fatalf("%d answers", len(ms))
			}
			got := reply(t, ms[0])
			if b, ok := got.(bson.D); ok {
				if w, ok := tt.want.(bson.D); !ok || len(b) != len(w) || b[0] != w[0] || b[1] != w[1] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
			if idOf(t, ms[0]) != 1 {
				t.Fatalf("id %v", ms[0].ID)
			}
		})
	}
}

func TestDispatchErrors(t *testing.T) {
	s := testServer(t)
	tests := []struct {
		name   string
		fn     string
		args   bson.A
		kind   *Error
		detail string
	}{
		{"unknown function", "foo", nil, ErrNoSuchFunction, "no function named foo"},
		{"too few arguments", "add", bson.A{1}, ErrBadArguments, "add takes 2 arguments (int, int), got 1"},
		{"too many arguments", "add", bson.A{1, 2, 3}, ErrBadArguments, "got 3"},
		{"wrong type", "add", bson.A{1, "x"}, ErrBadArguments, "argument 2: want int, got BSON string"},
		{"fractional double for int", "add", bson.A{1, 2.5}, ErrBadArguments, "argument 2"},
		{"overflow", "small", bson.A{300}, ErrBadArguments, "300 overflows int8"},
		{"negative unsigned", "unsigned", bson.A{-1}, ErrBadArguments, "overflows uint"},
		{"struct from string", "norm", bson.A{"x"}, ErrBadArguments, "cannot decode"},
		{"returned error", "fail", nil, ErrHandlerError, "it failed"},
		{"value with error", "div", bson.A{1, 0}, ErrHandlerError, "division by zero"},
		{"panic", "boom", nil, ErrHandlerError, "panic: kaboom"},
		{"handler's own kind", "refuse", nil, ErrBadArguments, "never"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = bson.A{}
			}
			ms := connect(t, s).send(call(t, 9, tt.fn, args...))
			if len(ms) != 1 || ms[0].Kind != KindError {
				t.Fatalf("answers %+v", ms)
			}
			if !errors.Is(ms[0].Err, tt.kind) || !strings.Contains(ms[0].Err.Detail, tt.detail) {
				t.Fatalf("got %v, want %v with %q", ms[0].Err, tt.kind, tt.detail)
			}
			if idOf(t, ms[0]) != 9 {
				t.Fatalf("id %v", ms[0].ID)
			}
		})
	}
}

func TestRegisterRefusesNonFunctions(t *testing.T) {
	s := NewServer()
	for _, fn := range []any{42, nil, func(...int) {}, func() (int, int) { return 0, 0 }} {
		if err := s.Register("f", fn); err == nil {
			t.Errorf("Register(%T) succeeded", fn)
		}
	}
	if err := s.Register("f", func() {}); err != nil {
		t.Fatal(err)
	}
	if err := s.Register("f", func() {}); err == nil {
		t.Error("second Register under the same name succeeded")
	}
}

func TestRegisterObject(t *testing.T) {
	s := NewServer()
	if err := s.RegisterObject("poetry", &poetry{map[string]string{"ode": "O!"}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	ms := c.send(call(t, nil, "poetry.get", "ode"), call(t, nil, "poetry.count"), call(t, nil, "poetry.get", "x"))
	if reply(t, ms[0]) != "O!" || reply(t, ms[1]) != int32(1) || !errors.Is(ms[2].Err, ErrHandlerError) {
		t.Fatalf("answers %+v", ms)
	}
	if err := s.RegisterObject("empty", struct{}{}); err == nil {
		t.Error("RegisterObject of a value without methods succeeded")
	}
}

func TestContextCancelledWhenConnectionLost(t *testing.T) {
	s := NewServer()
	var ctx context.Context
	s.Register("keep", func(c context.Context) { ctx = c })
	c := connect(t, s)
	c.send(call(t, 1, "keep"))
	if ctx.Err() != nil {
		t.Fatal("context done while connected")
	}
	c.tr.LoseConnection()
	if ctx.Err() == nil {
		t.Fatal("context not cancelled when the connection was lost")
	}
}

// asyncServer has a function whose Deferreds the test fires.
func asyncServer(t *testing.T, opts ...ServerOption) (*Server, *[]*deferred.Deferred) {
	s := NewServer(opts...)
	var ds []*deferred.Deferred
	if err := s.Register("later", func(n int) *deferred.Deferred {
		d := deferred.New()
		ds = append(ds, d)
		return d
	}); err != nil {
		t.Fatal(err)
	}
	s.Register("now", func(n int) int { return n })
	return s, &ds
}

func TestCallsWithoutIDAnsweredInOrder(t *testing.T) {
	s, ds := asyncServer(t)
	c := connect(t, s)
	if ms := c.send(call(t, nil, "later", 1), call(t, nil, "now", 2), call(t, nil, "later", 3)); len(ms) != 0 {
		t.Fatalf("answered before the first call finished: %+v", ms)
	}
	(*ds)[1].Callback("third")
	if ms := c.take(); len(ms) != 0 {
		t.Fatalf("answered out of order: %+v", ms)
	}
	(*ds)[0].Callback("first")
	ms := c.take()
	if len(ms) != 3 || reply(t, ms[0]) != "first" || reply(t, ms[1]) != int32(2) || reply(t, ms[2]) != "third" {
		t.Fatalf("answers %+v", ms)
	}
}

func TestCallsWithIDAnsweredAsTheyFinish(t *testing.T) {
	s, ds := asyncServer(t)
	c := connect(t, s)
	ms := c.send(call(t, 1, "later", 1), call(t, 2, "later", 2), call(t, 3, "now", 3))
	if len(ms) != 1 || idOf(t, ms[0]) != 3 {
		t.Fatalf("answers %+v", ms)
	}
	(*ds)[1].Callback("b")
	if ms := c.take(); len(ms) != 1 || idOf(t, ms[0]) != 2 || reply(t, ms[0]) != "b" {
		t.Fatalf("answers %+v", ms)
	}
	(*ds)[0].Errback(errors.New("late failure"))
	if ms := c.take(); len(ms) != 1 || idOf(t, ms[0]) != 1 || !errors.Is(ms[0].Err, ErrHandlerError) {
		t.Fatalf("answers %+v", ms)
	}
}

func TestStringIDEchoed(t *testing.T) {
	ms := connect(t, testServer(t)).send(call(t, "abc", "add", 1, 2))
	if s, _ := ms[0].ID.StringValueOK(); s != "abc" {
		t.Fatalf("id %v", ms[0].ID)
	}
}

func TestNoReplyCallsGetNoAnswer(t *testing.T) {
	s := testServer(t)
	c := connect(t, s)
	ms := c.send(noreply(t, "add", 1, 2), noreply(t, "foo"), noreply(t, "boom"), call(t, nil, "add", 2, 2))
	if len(ms) != 1 || reply(t, ms[0]) != int32(4) {
		t.Fatalf("answers %+v", ms)
	}
}

func TestTooLargeClosesConnectionAfterErrorReply(t *testing.T) {
	var log strings.Builder
	s := testServer(t, WithMaxMessageSize(64), WithLogger(newLogger(&log)))
	c := connect(t, s)
	big := call(t, nil, "upper", strings.Repeat("x", 100))
	ms := c.send(call(t, nil, "add", 1, 1), big, call(t, nil, "add", 1, 2))
	if len(ms) != 2 || reply(t, ms[0]) != int32(2) || !errors.Is(ms[1].Err, ErrTooLarge) {
		t.Fatalf("answers %+v", ms)
	}
	if !c.tr.Disconnecting() {
		t.Fatal("connection left open")
	}
	if !strings.Contains(log.String(), "too large") {
		t.Fatalf("log %q", log.String())
	}
}

func TestMalformedDocumentThenGoodCall(t *testing.T) {
	c := connect(t, testServer(t))
	bad := []byte{0, 0, 0, 5, 9, 0, 0, 0, 0}
	ms := c.send(bad, call(t, nil, "add", 1, 2))
	if len(ms) != 2 || !errors.Is(ms[0].Err, ErrBadMessage) || reply(t, ms[1]) != int32(3) {
		t.Fatalf("answers %+v", ms)
	}
	if c.tr.Disconnecting() {
		t.Fatal("connection closed")
	}
}

func TestBadMessages(t *testing.T) {
	tests := []struct {
		name string
		doc  any
	}{
		{"empty document", bson.D{}},
		{"reply sent to a server", bson.D{{Key: "reply", Value: 1}}},
		{"call not a document", bson.D{{Key: "call", Value: 1}}},
		{"call without funcname", bson.D{{Key: "call", Value: bson.D{}}}},
		{"funcname not a string", bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: 1}}}}},
		{"arguments not an array", bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: "add"}, {Key: "arguments", Value: 1}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := connect(t, testServer(t)).send(frame(t, tt.doc))
			if len(ms) != 1 || !errors.Is(ms[0].Err, ErrBadMessage) {
				t.Fatalf("answers %+v", ms)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	s := testServer(t, WithName("calc", "1.2"))
	ms := connect(t, s).send(frame(t, bson.D{{Key: "info", Value: bson.D{}}}))
	if len(ms) != 1 || ms[0].Kind != KindInfo {
		t.Fatalf("answers %+v", ms)
	}
	var info Info
	if err := bson.Unmarshal(ms[0].Info, &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "calc" || info.Version != "1.2" || info.MaxMessageSize != DefaultMaxMessageSize {
		t.Fatalf("info %+v", info)
	}
	found := false
	for _, f := range info.Functions {
		if f.Name == "add" {
			found = f.Arity == 2
		}
	}
	if !found {
		t.Fatalf("add/2 not in %+v", info.Functions)
	}
}

func TestCallTimeout(t *testing.T) {
	clk := task.NewClock()
	s, ds := asyncServer(t, WithCallTimeout(time.Second), WithClock(clk))
	c := connect(t, s)
	c.send(call(t, 1, "later", 1), call(t, 2, "later", 2))
	(*ds)[1].Callback("in time")
	if ms := c.take(); len(ms) != 1 || idOf(t, ms[0]) != 2 {
		t.Fatalf("answers %+v", ms)
	}
	clk.Advance(time.Second)
	ms := c.take()
	if len(ms) != 1 || idOf(t, ms[0]) != 1 || !errors.Is(ms[0].Err, ErrTimeout) {
		t.Fatalf("answers %+v", ms)
	}
}

func TestAnswerAfterConnectionLostIsDropped(t *testing.T) {
	s, ds := asyncServer(t)
	c := connect(t, s)
	c.send(call(t, nil, "later", 1))
	c.tr.LoseConnection()
	(*ds)[0].Callback(1)
	if len(c.tr.Value()) != 0 {
		t.Fatal("wrote after the connection was lost")
	}
}

// countingTransport counts the writes made to it.
type countingTransport struct {
	twisttest.StringTransport
	writes int
}

func (t *countingTransport) Write(b []byte) (int, error) {
	t.writes++
	return t.StringTransport.Write(b)
}

func (t *countingTransport) WriteSequence(bufs [][]byte) error {
	t.writes++
	return t.StringTransport.WriteSequence(bufs)
}

func TestAnswersToOneReadGoOutInOneWrite(t *testing.T) {
	s, ds := asyncServer(t)
	p := s.Factory().BuildProtocol(nil)
	tr := &countingTransport{}
	p.ConnectionMade(tr)
	var in []byte
	for i := range 3 {
		in = append(in, call(t, i, "now", i)...)
	}
	in = append(in, call(t, 3, "later", 3)...)
	p.DataReceived(in)
	ms := frames(t, tr.Value())
	if tr.writes != 1 || len(ms) != 3 {
		t.Fatalf("%d writes of %d answers, want 1 of 3", tr.writes, len(ms))
	}
	for i, m := range ms {
		if idOf(t, m) != int64(i) || reply(t, m) != int32(i) {
			t.Fatalf("answer %d: %+v", i, m)
		}
	}
	tr.Clear()
	(*ds)[0].Callback("late")
	if ms := frames(t, tr.Value()); tr.writes != 2 || len(ms) != 1 || reply(t, ms[0]) != "late" {
		t.Fatalf("%d writes, answers %+v", tr.writes, ms)
	}
}
