package looptest

import (
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// Held is a function whose calls are answered later: each call returns a
// Deferred that Drain fires. It counts how many calls are outstanding, and
// how many ran while the server's maximum already was. Its state belongs
// to the loop that serves the calls.
type Held struct {
	max, calls                  int
	unfired                     []*deferred.Deferred
	outstanding, over, received int
	// all is told when every call has arrived, atMax each time the
	// maximum is outstanding: the server then holds further calls back,
	// whether or not it has paused reading yet.
	all, atMax chan struct{}
}

// NewHeld returns a Held for a server that allows max outstanding calls,
// and a test that makes calls of them.
func NewHeld(max, calls int) *Held {
	return &Held{max: max, calls: calls, all: make(chan struct{}, 1), atMax: make(chan struct{}, 1)}
}

// Call is the function to register: it records the call and returns the
// Deferred that Drain fires.
func (h *Held) Call() *deferred.Deferred {
	if h.outstanding >= h.max {
		h.over++
	}
	if h.outstanding++; h.outstanding == h.max {
		select {
		case h.atMax <- struct{}{}:
		default:
		}
	}
	if h.received++; h.received == h.calls {
		h.all <- struct{}{}
	}
	d := deferred.New()
	h.unfired = append(h.unfired, d)
	return d
}

// Drain fires the held calls on loop each time the connection pauses
// reading (reported on paused), the maximum is outstanding, or every call
// has arrived, until all are
// fired; then it waits for answered, where the test's reader reports
// whether every answer came. It fails the test if the connection is lost,
// if reading never paused, or if a call ran while the maximum was
// outstanding.
func (h *Held) Drain(t *testing.T, loop *reactor.Reactor, paused <-chan struct{}, lost <-chan error, answered <-chan error) {
	t.Helper()
	pauses := 0
	for fired := 0; fired < h.calls; {
		select {
		case <-paused:
			pauses++
		case <-h.all:
		case <-h.atMax:
		case err := <-lost:
			t.Fatalf("connection lost: %v", err)
		}
		n := make(chan int)
		loop.CallFromThread(func() {
			batch := h.unfired
			h.unfired = nil
			for _, d := range batch {
				h.outstanding-- // before: firing lets the next call in at once
				d.Callback(nil)
			}
			n <- len(batch)
		})
		fired += <-n
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if pauses == 0 {
		t.Fatal("reading never paused")
	}
	over := make(chan int)
	loop.CallFromThread(func() { over <- h.over })
	if n := <-over; n != 0 {
		t.Fatalf("%d calls ran while %d were outstanding", n, h.max)
	}
}
