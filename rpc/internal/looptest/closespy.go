package looptest

import (
	"testing"

	"github.com/twistgo/twist/twisttest"
)

// CloseSpy is a StringTransport that records whether a producer was still
// registered when the connection was closed: a real transport would wait
// for it to unregister for ever.
type CloseSpy struct {
	twisttest.StringTransport
	closed, producerAtClose bool
}

// LoseConnection records the state, then closes.
func (s *CloseSpy) LoseConnection() {
	s.closed, s.producerAtClose = true, s.Producer() != nil
	s.StringTransport.LoseConnection()
}

// WantClosedUnregistered fails the test unless the connection was closed
// with no producer registered.
func (s *CloseSpy) WantClosedUnregistered(t *testing.T) {
	t.Helper()
	if !s.closed || s.producerAtClose {
		t.Fatalf("closed %v with a producer registered %v", s.closed, s.producerAtClose)
	}
}
