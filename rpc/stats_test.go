package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/metrics/latency"
	"github.com/twistgo/twist/rpc/internal/looptest"
	"github.com/twistgo/twist/task"
)

// statsOf returns the counters of the function name.
func statsOf(t *testing.T, s *Server, name string) FunctionStats {
	t.Helper()
	for _, st := range s.Stats() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no stats for %s", name)
	return FunctionStats{}
}

func TestStatsCountCallsPerFunction(t *testing.T) {
	s := testServer(t)
	_, args, _ := bson.MarshalValue(bson.A{1, 2})
	s.Dispatch(context.Background(), nil, "add", args)
	s.Dispatch(context.Background(), nil, "add", nil) // a failed call counts too
	s.Dispatch(context.Background(), nil, "nosuch", args)
	if _, _, err := s.AppendCall(nil, context.Background(), nil, "reply", "add", args); err != nil {
		t.Fatal(err)
	}
	s.AppendCall(nil, context.Background(), nil, "reply", "fail", nil)
	s.AppendCall(nil, context.Background(), nil, "reply", "nosuch", nil)
	stats := s.Stats()
	if len(stats) == 0 {
		t.Fatal("no stats")
	}
	for i, st := range stats {
		if i > 0 && stats[i-1].Name >= st.Name {
			t.Errorf("not sorted: %q before %q", stats[i-1].Name, st.Name)
		}
		want := uint64(0)
		switch st.Name {
		case "add":
			want = 3
		case "fail":
			want = 1
		}
		if st.Calls != want {
			t.Errorf("%s: %d calls, want %d", st.Name, st.Calls, want)
		}
	}
	add := statsOf(t, s, "add")
	if want := map[string]uint64{BadArguments: 1, HandlerError: 0, Timeout: 0, "Cancelled": 0, "Other": 0}; !equalCounts(add.Errors, want) {
		t.Errorf("add: errors %v, want %v", add.Errors, want)
	}
	if fail := statsOf(t, s, "fail"); fail.Errors[HandlerError] != 1 {
		t.Errorf("fail: errors %v, want one HandlerError", fail.Errors)
	}
	// The first call of a function answered at once is the one timed in
	// LatencySampleEvery, and stands for that many.
	if n := add.Latency.Count(); n != LatencySampleEvery || add.InFlight != 0 {
		t.Errorf("add: latency counts %d calls, in flight %d; want %d, 0", n, add.InFlight, LatencySampleEvery)
	}
	if n := s.UnknownCalls(); n != 2 {
		t.Errorf("UnknownCalls = %d, want 2", n)
	}
}

func equalCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStatsAsyncCallsOnFakeClock times calls that wait on a Deferred by
// the server's fake clock: in flight until they answer, their latency
// exactly the time the clock moved, a time-out counted as such.
func TestStatsAsyncCallsOnFakeClock(t *testing.T) {
	clk := task.NewClock()
	s, ds := asyncServer(t, WithCallTimeout(time.Second), WithClock(clk))
	c := connect(t, s)
	c.send(call(t, 1, "later", 1), call(t, 2, "later", 2))
	if st := statsOf(t, s, "later"); st.InFlight != 2 || st.Calls != 2 {
		t.Fatalf("later: %d in flight of %d calls, want 2 of 2", st.InFlight, st.Calls)
	}
	clk.Advance(30 * time.Millisecond)
	(*ds)[1].Callback("in time")
	clk.Advance(970 * time.Millisecond) // the first times out
	ms := c.take()
	if len(ms) != 2 || !errors.Is(ms[1].Err, ErrTimeout) {
		t.Fatalf("answers %+v", ms)
	}
	st := statsOf(t, s, "later")
	if st.InFlight != 0 || st.Errors[Timeout] != 1 || st.Latency.Count() != 2 {
		t.Fatalf("later: %+v; want none in flight, one Timeout, two timed", st)
	}
	var want latency.Counts
	want.Observe(30 * time.Millisecond)
	want.Observe(time.Second)
	if st.Latency != want {
		t.Errorf("later: latency %+v, want %+v", st.Latency, want)
	}

	// A call whose connection is lost is cancelled, and counted so.
	c.send(call(t, 3, "later", 3))
	c.tr.LoseConnection()
	if st := statsOf(t, s, "later"); st.InFlight != 0 || st.Errors["Cancelled"] != 1 {
		t.Errorf("later after a lost connection: %+v; want none in flight, one Cancelled", st)
	}
}

// TestStatsThroughRealCalls counts calls made by a client over loopback.
func TestStatsThroughRealCalls(t *testing.T) {
	s := testServer(t)
	_, addr := looptest.Serve(t, s.Factory())
	c := dial(t, addr)
	var sum int
	for range 3 {
		if err := c.Call(context.Background(), "add", []any{1, 2}, &sum); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Call(context.Background(), "div", []any{1, 0}, &sum); err == nil {
		t.Fatal("div by zero succeeded")
	}
	// The server answered before the client returned: its counts are in.
	if add := statsOf(t, s, "add"); add.Calls != 3 || add.Latency.Count() != LatencySampleEvery {
		t.Errorf("add: %+v; want 3 calls, the first timed", add)
	}
	if div := statsOf(t, s, "div"); div.Calls != 1 || div.Errors[HandlerError] != 1 {
		t.Errorf("div: %+v; want 1 call, 1 HandlerError", div)
	}
}
