package rpcdemo_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/rpcdemo"
	"github.com/twistgo/twist/twisttest"
)

// args encodes a call's arguments as the transports hand them to Dispatch.
func args(t *testing.T, a ...any) bson.RawArray {
	t.Helper()
	_, b, err := bson.MarshalValue(bson.A(a))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func server(t *testing.T) (*rpc.Server, *twisttest.Clock) {
	t.Helper()
	clk := twisttest.NewClock()
	s := rpc.NewServer()
	if err := rpcdemo.Register(s, clk); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// TestFunctionsAnswerByName calls every function that answers at once
// through Dispatch, as every transport does.
func TestFunctionsAnswerByName(t *testing.T) {
	s, _ := server(t)
	for _, tt := range []struct {
		name string
		fn   string
		args []any
		want any
	}{
		{"add integers", "add", []any{1, 2}, 3},
		{"add integral doubles", "add", []any{1.0, -2.0}, -1},
		{"echo a string", "echo", []any{"hi"}, bson.RawValue{Type: bson.TypeString, Value: bsonString("hi")}},
		{"cummingsify lowers the case", "cummingsify", []any{"Shall I Compare Thee?"}, "shall i compare thee?"},
		{"poetry.get gives the sonnet", "poetry.get", nil, rpcdemo.Poem()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := twisttest.SuccessResultOf(t, s.Dispatch(context.Background(), nil, tt.fn, args(t, tt.args...)))
			if want, ok := tt.want.(bson.RawValue); ok {
				if !want.Equal(got.(bson.RawValue)) {
					t.Fatalf("%s%v = %v, want %v", tt.fn, tt.args, got, want)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("%s%v = %#v, want %#v", tt.fn, tt.args, got, tt.want)
			}
		})
	}
}

func bsonString(s string) []byte {
	_, b, _ := bson.MarshalValue(s)
	return b
}

// TestEchoKeepsDocuments pins down that a nested value comes back with its
// keys in order and its types intact.
func TestEchoKeepsDocuments(t *testing.T) {
	s, _ := server(t)
	in := bson.D{{Key: "b", Value: int64(1)}, {Key: "a", Value: bson.A{"x", 2.5, true}}}
	got := twisttest.SuccessResultOf(t, s.Dispatch(context.Background(), nil, "echo", args(t, in))).(bson.RawValue)
	_, want, _ := bson.MarshalValue(in)
	if got.Type != bson.TypeEmbeddedDocument || string(got.Value) != string(want) {
		t.Fatalf("echo(%v) = %v", in, got)
	}
}

// TestErrors pins down the kind and detail of each failing call.
func TestErrors(t *testing.T) {
	s, _ := server(t)
	for _, tt := range []struct {
		name   string
		fn     string
		args   []any
		kind   error
		detail string
	}{
		{"fail says its message", "fail", []any{"on purpose"}, rpc.ErrHandlerError, "on purpose"},
		{"cummingsify of gibberish", "cummingsify", []any{"?!"}, rpc.ErrHandlerError, "gibberish"},
		{"sleep a negative time", "sleep", []any{-1}, rpc.ErrBadArguments, "-1"},
		{"sleep forever", "sleep", []any{math.Inf(1)}, rpc.ErrBadArguments, "+Inf"},
		{"add a string", "add", []any{1, "2"}, rpc.ErrBadArguments, "string"},
		{"add past the largest int", "add", []any{int64(math.MaxInt64), 1}, rpc.ErrBadArguments, "overflows"},
		{"add past the smallest int", "add", []any{int64(math.MinInt64), -1}, rpc.ErrBadArguments, "overflows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := twisttest.FailureResultOf(t, s.Dispatch(context.Background(), nil, tt.fn, args(t, tt.args...)))
			var e *rpc.Error
			if !errors.Is(f, tt.kind) || !errors.As(f, &e) || !strings.Contains(e.Detail, tt.detail) {
				t.Fatalf("%s%v failed with %v, want %v saying %q", tt.fn, tt.args, f, tt.kind, tt.detail)
			}
		})
	}
}

// TestSleepAnswersWhenItsTimerFires drives sleep with a fake clock: no
// answer before the time, null at the time.
func TestSleepAnswersWhenItsTimerFires(t *testing.T) {
	s, clk := server(t)
	d := s.Dispatch(context.Background(), nil, "sleep", args(t, 1.5))
	clk.Advance(1499 * time.Millisecond)
	twisttest.AssertNoResult(t, d)
	clk.Advance(time.Millisecond)
	if got := twisttest.SuccessResultOf(t, d); got != nil {
		t.Fatalf("sleep answered %v, want nil", got)
	}
}

// TestSleepCancelledStopsItsTimer pins down that cancelling a sleep (as a
// call time-out does) leaves no timer behind.
func TestSleepCancelledStopsItsTimer(t *testing.T) {
	_, clk := server(t)
	d, err := rpcdemo.Sleep(clk, 10)
	if err != nil {
		t.Fatal(err)
	}
	d.Cancel()
	twisttest.FailureResultOf(t, d)
	if n := len(clk.DelayedCalls()); n != 0 {
		t.Fatalf("%d timers pending after cancelling", n)
	}
}

// TestRegisterTwiceFails: the names are taken by the first registration.
func TestRegisterTwiceFails(t *testing.T) {
	s, clk := server(t)
	if err := rpcdemo.Register(s, clk); err == nil {
		t.Fatal("registering the demo functions twice succeeded")
	}
}
