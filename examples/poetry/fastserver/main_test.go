package main

import (
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

func TestServesThePoemAtOnceOverLoopback(t *testing.T) {
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		port, err := n.ListenTCP("127.0.0.1:0", &poetry.ServerFactory{Poem: poetry.Tyger})
		if err != nil {
			return deferred.Fail(err)
		}
		return deferred.Gather([]*deferred.Deferred{
			poetry.Get(n, port.Addr().String(), nil),
			poetry.Get(n, port.Addr().String(), nil),
		}).AddBoth(func(v any) (any, error) {
			port.StopListening()
			return v, nil
		})
	}).([]any)
	if len(got) != 2 || got[0] != string(poetry.Tyger) || got[1] != string(poetry.Tyger) {
		t.Fatalf("got %q, want The Tyger twice", got)
	}
}
