package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

func TestServesThePoemInChunksOverLoopback(t *testing.T) {
	var log strings.Builder
	var pieces int
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		port, err := n.ListenTCP("127.0.0.1:0", slowFactory(n, poetry.Sonnet18, 100, time.Millisecond, &log))
		if err != nil {
			return deferred.Fail(err)
		}
		return poetry.Get(n, port.Addr().String(), func(int) { pieces++ }).AddBoth(func(v any) (any, error) {
			port.StopListening()
			return v, nil
		})
	})
	if got != string(poetry.Sonnet18) {
		t.Fatalf("got %q, want Sonnet 18", got)
	}
	// 658 bytes in chunks of 100: six of 100 and one of 58, each logged. How
	// the client's reads split them depends on scheduling (a busy machine may
	// read two pauses' worth at once), so only the sends are counted here;
	// the one read per chunk is tested on the fake clock in protocols/poetry.
	lines := regexp.MustCompile(`(?m)^sending (\d+) bytes to 127\.0\.0\.1:\d+$`).FindAllStringSubmatch(log.String(), -1)
	if len(lines) != 7 || lines[6][1] != "58" || pieces < 1 || pieces > 7 {
		t.Fatalf("log:\n%s\n%d pieces received", log.String(), pieces)
	}
}
