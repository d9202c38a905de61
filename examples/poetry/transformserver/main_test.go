package main

import (
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

func TestTransformsOverLoopback(t *testing.T) {
	var log strings.Builder
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		port, err := n.ListenTCP("127.0.0.1:0", &poetry.TransformFactory{Log: &log})
		if err != nil {
			return deferred.Fail(err)
		}
		addr := port.Addr().String()
		unknown := poetry.Xform(n, addr, "shout", string(poetry.Sonnet18)).AddErrback(func(f *deferred.Failure) (any, error) {
			return "fallback: " + f.Error(), nil
		})
		return deferred.Gather([]*deferred.Deferred{poetry.Xform(n, addr, "cummingsify", string(poetry.Sonnet18)), unknown}).
			AddBoth(func(v any) (any, error) {
				port.StopListening()
				return v, nil
			})
	}).([]any)
	if len(got) != 2 || got[0] != strings.ToLower(string(poetry.Sonnet18)) || got[1] != "fallback: "+poetry.ErrNoTransform.Error() {
		t.Fatalf("got %q", got)
	}
	for _, line := range []string{"cummingsify request: 658 bytes of poetry, known: true\n", "shout request: 658 bytes of poetry, known: false\n"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log %q lacks %q", log.String(), line)
		}
	}
}
