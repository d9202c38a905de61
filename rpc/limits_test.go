package rpc

import (
	"context"
	"io"
	"testing"

	"github.com/twistgo/twist/protocols/policies"
)

func TestLimitsDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ServerOption
		want Limits
	}{
		{"none", nil, DefaultLimits()},
		{"zero", []ServerOption{WithLimits(Limits{})}, DefaultLimits()},
		{"some", []ServerOption{WithLimits(Limits{MaxPending: 3, MaxDepth: 7})},
			Limits{MaxMessage: DefaultMaxMessageSize, MaxWireMessage: DefaultMaxWireMessage, MaxDepth: 7, MaxPending: 3, MaxOutput: DefaultMaxOutput}},
		{"option after", []ServerOption{WithLimits(Limits{MaxMessage: 100}), WithMaxMessageSize(200)},
			Limits{MaxMessage: 200, MaxWireMessage: DefaultMaxWireMessage, MaxDepth: DefaultMaxDepth, MaxPending: DefaultMaxPending, MaxOutput: DefaultMaxOutput}},
		{"negative", []ServerOption{WithMaxPending(-1)}, DefaultLimits()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewServer(tc.opts...).Limits(); got != tc.want {
				t.Fatalf("Limits() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLimitsMaxMessage(t *testing.T) {
	s := NewServer(WithLimits(Limits{MaxMessage: 64}), WithLogger(newLogger(io.Discard)))
	s.Register("echo", func(v string) string { return v })
	c := connect(t, s)
	ms := c.send(call(t, 1, "echo", "0123456789012345678901234567890123456789012345678901234567890123"))
	if len(ms) != 1 || ms[0].Kind != KindError || ms[0].Err.Message != TooLarge {
		t.Fatalf("got %+v, want one TooLarge error", ms)
	}
	if !c.tr.Disconnecting() {
		t.Fatal("the connection stays open after a message over MaxMessage")
	}
}

func TestDrainAnswersInFlightThenCloses(t *testing.T) {
	s, ds := asyncServer(t)
	c := connect(t, s)
	idle := connect(t, s)
	if ms := c.send(call(t, 1, "later", 1), call(t, nil, "later", 2)); len(ms) != 0 {
		t.Fatalf("answered early: %+v", ms)
	}
	done := s.Drain(context.Background())
	if !idle.tr.Disconnecting() {
		t.Fatal("an idle connection stays open after Drain")
	}
	if c.tr.Disconnecting() {
		t.Fatal("a connection with calls in flight closed at once")
	}
	// A call that arrives while draining is not taken.
	if ms := c.send(call(t, 3, "now", 3)); len(ms) != 0 {
		t.Fatalf("a call was answered while draining: %+v", ms)
	}
	(*ds)[0].Callback("one")
	if ms := c.take(); len(ms) != 1 || reply(t, ms[0]) != "one" {
		t.Fatalf("got %+v, want the answer to the first call", ms)
	}
	select {
	case <-done:
		t.Fatal("drained with a call in flight")
	default:
	}
	(*ds)[1].Callback("two")
	if ms := c.take(); len(ms) != 1 || reply(t, ms[0]) != "two" {
		t.Fatalf("got %+v, want the answer to the second call", ms)
	}
	if !c.tr.Disconnecting() {
		t.Fatal("the connection stays open once its calls are answered")
	}
	select {
	case <-done:
	default:
		t.Fatal("Drain's channel is open once every connection closed")
	}
	if again := s.Drain(context.Background()); again != done {
		t.Fatal("a second Drain returns another channel")
	}
	late := connect(t, s)
	if !late.tr.Disconnecting() {
		t.Fatal("a connection made after Drain stays open")
	}
}

func TestDrainTimeoutAborts(t *testing.T) {
	s, _ := asyncServer(t)
	c := connect(t, s)
	c.send(call(t, 1, "later", 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	<-s.Drain(ctx)
	if !c.tr.Disconnecting() {
		t.Fatal("the connection stays open after Drain's context is done")
	}
}

// Both RPC connection protocols report their message state to the
// time-out policy.
var _ policies.MessageState = (*serverProtocol)(nil)

func TestMessageState(t *testing.T) {
	s, ds := asyncServer(t)
	c := connect(t, s)
	p := c.p.(*serverProtocol)
	c.send(call(t, 1, "later", 1))
	frame := call(t, 2, "now", 2)
	c.send(frame[:5])
	if !p.PartialMessage() || p.Pending() != 1 {
		t.Fatalf("PartialMessage %v, Pending %d: want true, 1", p.PartialMessage(), p.Pending())
	}
	c.send(frame[5:])
	(*ds)[0].Callback(1)
	if p.PartialMessage() || p.Pending() != 0 {
		t.Fatalf("PartialMessage %v, Pending %d: want false, 0", p.PartialMessage(), p.Pending())
	}
}
