package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// servers listens with each factory on a free loopback port, and returns
// their addresses and a function that stops them. A nil factory stands for
// a closed port: its address refuses connections.
func servers(n internet.Net, fs ...internet.Factory) (addrs []string, stop func(), err error) {
	var ports []internet.ListeningPort
	stop = func() {
		for _, p := range ports {
			p.StopListening()
		}
	}
	for _, f := range fs {
		closed := f == nil
		if closed {
			f = &poetry.ServerFactory{}
		}
		p, err := n.ListenTCP("127.0.0.1:0", f)
		if err != nil {
			stop()
			return nil, nil, err
		}
		addrs = append(addrs, p.Addr().String())
		if closed {
			p.StopListening()
		} else {
			ports = append(ports, p)
		}
	}
	return addrs, stop, nil
}

// refused is the message of a connection refused on loopback.
var refused = internet.ErrConnectionRefused.Error() + ": connect: connection refused"

func TestGetsPoemsFromSeveralServers(t *testing.T) {
	var out, log strings.Builder
	var addrs []string
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		slow := &poetry.ServerFactory{Poem: poetry.Sonnet18, Clock: n, Chunk: 100, Delay: time.Millisecond}
		fast := &poetry.ServerFactory{Poem: poetry.Tyger}
		var stop func()
		var err error
		addrs, stop, err = servers(n, slow, nil, fast)
		if err != nil {
			return deferred.Fail(err)
		}
		return run(n, &out, config{addrs: addrs, log: &log}).AddBoth(func(v any) (any, error) {
			stop()
			return v, nil
		})
	})
	if got != 2 {
		t.Errorf("run = %v poems, want 2", got)
	}
	want := fmt.Sprintf("Task 1: poem from %s:\n%s\n", addrs[0], poetry.Sonnet18) +
		fmt.Sprintf("Task 2: poem from %s failed: %s\n", addrs[1], refused) +
		fmt.Sprintf("Task 3: poem from %s:\n%s\n", addrs[2], poetry.Tyger)
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if log.Len() != 0 {
		t.Fatalf("log without -v: %q", log.String())
	}
}

func TestVerboseReportsProgress(t *testing.T) {
	var out, log strings.Builder
	var addrs []string
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		var stop func()
		var err error
		addrs, stop, err = servers(n, &poetry.ServerFactory{Poem: poetry.Sonnet18, Clock: n, Chunk: 329, Delay: time.Millisecond})
		if err != nil {
			return deferred.Fail(err)
		}
		return run(n, &out, config{addrs: addrs, log: &log, verbose: true}).AddBoth(func(v any) (any, error) {
			stop()
			return v, nil
		})
	})
	// The server pauses between its two halves, so they arrive apart.
	want := strings.Repeat(fmt.Sprintf("Task 1: got 329 bytes of poetry from %s\n", addrs[0]), 2)
	if log.String() != want {
		t.Fatalf("log:\n%s\nwant:\n%s", log.String(), want)
	}
}

func TestTransformsThePoems(t *testing.T) {
	tests := []struct {
		name     string
		xform    internet.Factory // nil: a closed port
		want     string
		wantLogs string
	}{
		{"cummingsified", &poetry.TransformFactory{}, strings.ToLower(string(poetry.Tyger)), ""},
		{"unknown transform", &poetry.TransformFactory{Transforms: map[string]poetry.Transform{}}, string(poetry.Tyger),
			"Task 1: cummingsify failed (" + poetry.ErrNoTransform.Error() + "), keeping the poem as it came\n"},
		{"server down", nil, string(poetry.Tyger),
			"Task 1: cummingsify failed (" + refused + "), keeping the poem as it came\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, log strings.Builder
			var addrs []string
			twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
				n := internet.RealNet(r)
				var stop func()
				var err error
				addrs, stop, err = servers(n, &poetry.ServerFactory{Poem: poetry.Tyger}, tt.xform)
				if err != nil {
					return deferred.Fail(err)
				}
				return run(n, &out, config{addrs: addrs[:1], xform: addrs[1], log: &log}).AddBoth(func(v any) (any, error) {
					stop()
					return v, nil
				})
			})
			if want := fmt.Sprintf("Task 1: poem from %s:\n%s\n", addrs[0], tt.want); out.String() != want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
			}
			if log.String() != tt.wantLogs {
				t.Errorf("log %q, want %q", log.String(), tt.wantLogs)
			}
		})
	}
}
