package twisttest_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
)

// fakeTB records the failures reported to it; its Fatalf returns, unlike
// testing.T's, so Run must stop by itself after calling it.
type fakeTB struct {
	testing.TB
	fatals, errors []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func TestRunReturnsTheValue(t *testing.T) {
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		return task.DeferLater(r, time.Millisecond, func() (any, error) { return 42, nil })
	})
	if got != 42 {
		t.Fatalf("Run = %v, want 42", got)
	}
}

func TestRunNilDeferredIsNil(t *testing.T) {
	called := false
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		called = r.Running()
		return nil
	})
	if got != nil || !called {
		t.Fatalf("Run = %v, f ran on a running reactor: %v", got, called)
	}
}

var errBroken = errors.New("broken poem")

func TestRunFailsTheTest(t *testing.T) {
	tests := []struct {
		name string
		f    func(r *reactor.Reactor) *deferred.Deferred
		want string
	}{
		{"failure", func(r *reactor.Reactor) *deferred.Deferred {
			return task.DeferLater(r, 0, func() (any, error) { return nil, errBroken })
		}, "broken poem"},
		{"panic", func(r *reactor.Reactor) *deferred.Deferred { panic("oops") }, "oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &fakeTB{}
			if got := twisttest.Run(tb, tt.f); got != nil {
				t.Errorf("Run = %v, want nil", got)
			}
			if len(tb.fatals) != 1 || !strings.Contains(tb.fatals[0], "failed") || !strings.Contains(tb.fatals[0], tt.want) {
				t.Fatalf("Fatalf calls = %q, want one naming the failure %q", tb.fatals, tt.want)
			}
			if len(tb.errors) != 0 {
				t.Fatalf("Errorf calls = %q, want none", tb.errors)
			}
		})
	}
}

func TestRunTimesOutAndCancels(t *testing.T) {
	tb := &fakeTB{}
	cancelled := false
	twisttest.Run(tb, func(r *reactor.Reactor) *deferred.Deferred {
		return deferred.NewWithCanceller(func(*deferred.Deferred) { cancelled = true })
	}, twisttest.WithRunTimeout(time.Millisecond))
	if len(tb.fatals) != 1 || !strings.Contains(tb.fatals[0], "did not fire within 1ms") {
		t.Fatalf("Fatalf calls = %q, want one about the time-out", tb.fatals)
	}
	if !cancelled {
		t.Fatal("the Deferred was not cancelled")
	}
}

func TestRunReportsAPendingTimer(t *testing.T) {
	tb := &fakeTB{}
	var call clock.DelayedCall
	got := twisttest.Run(tb, func(r *reactor.Reactor) *deferred.Deferred {
		call = r.CallLater(time.Hour, func() {})
		return deferred.Succeed("done")
	})
	if got != "done" {
		t.Errorf("Run = %v, want the value even from an unclean reactor", got)
	}
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "unclean") || !strings.Contains(tb.errors[0], "delayed call due in 1h0m0s") {
		t.Fatalf("Errorf calls = %q, want one about the pending call", tb.errors)
	}
	if call.Active() {
		t.Fatal("the pending call was left active")
	}
}

func TestRunReportsAndClosesAWatchedPort(t *testing.T) {
	tb := &fakeTB{}
	var addr string
	twisttest.Run(tb, func(r *reactor.Reactor) *deferred.Deferred {
		p, err := internet.ListenTCP(r, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil }))
		if err != nil {
			return deferred.Fail(err)
		}
		addr = p.Addr().String()
		return deferred.Succeed(nil)
	})
	if len(tb.fatals) != 0 || len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "watched descriptor") || !strings.Contains(tb.errors[0], "internet.Port") {
		t.Fatalf("Fatalf calls = %q, Errorf calls = %q, want one error about the port", tb.fatals, tb.errors)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the port left behind still accepts connections")
	}
}

func TestRunLetsDueCallsRunFirst(t *testing.T) {
	tb := &fakeTB{}
	ran := false
	twisttest.Run(tb, func(r *reactor.Reactor) *deferred.Deferred {
		d := deferred.New()
		r.CallLater(0, func() {
			d.Callback(nil)                       // schedules Run's check
			r.CallLater(0, func() { ran = true }) // due after the check
		})
		return d
	})
	if len(tb.fatals)+len(tb.errors) != 0 || !ran {
		t.Fatalf("Fatalf = %q, Errorf = %q, call ran: %v; want a clean run", tb.fatals, tb.errors, ran)
	}
}

func TestRunOverLoopbackWithRealNet(t *testing.T) {
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		port, err := n.ListenTCP("127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol { return &teller{msg: "hello"} }))
		if err != nil {
			return deferred.Fail(err)
		}
		f := newRecordingFactory()
		c := n.ConnectTCP(port.Addr().String(), f)
		return f.lost.AddBoth(func(any) (any, error) {
			port.StopListening()
			if !f.toldBy(c, 2) {
				t.Errorf("the factory was told by %v, want twice by the connector", f.conns)
			}
			return string(f.proto.got), nil
		})
	})
	if got != "hello" {
		t.Fatalf("Run = %q", got)
	}
}

func TestRealNetListenErrorIsNil(t *testing.T) {
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		if p, err := n.ListenTCP("127.0.0.1:99999", internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil })); err == nil || p != nil {
			t.Errorf("ListenTCP on a bad port = %v, %v; want a nil Port and an error", p, err)
		}
		if p, err := n.ListenUDP("no-such-host:1", &internet.BaseDatagramProtocol{}); err == nil || p != nil {
			t.Errorf("ListenUDP on a host name = %v, %v; want a nil transport and an error", p, err)
		}
		return nil
	})
}
