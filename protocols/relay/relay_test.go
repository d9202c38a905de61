package relay

import (
	"testing"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

func TestSplice(t *testing.T) {
	a, b := &Relay{}, &Relay{}
	ta := &twisttest.StringTransportWithDisconnection{Protocol: a}
	tb := &twisttest.StringTransportWithDisconnection{Protocol: b}
	a.ConnectionMade(ta)
	b.ConnectionMade(tb)
	Splice(a, b)
	if ta.Producer() != internet.Producer(tb) || tb.Producer() != internet.Producer(ta) {
		t.Fatal("each transport is not the producer of the other's output")
	}
	a.DataReceived([]byte("to b"))
	b.DataReceived([]byte("to a"))
	if string(tb.Value()) != "to b" || string(ta.Value()) != "to a" {
		t.Fatalf("a wrote %q, b wrote %q", ta.Value(), tb.Value())
	}
	ta.LoseConnection() // a's side goes: b closes, with no producer left to wait for
	if !tb.Disconnecting() || tb.Producer() != nil || a.Peer() != nil || b.Peer() != nil {
		t.Fatalf("after a's loss: b disconnecting %v, producer %v", tb.Disconnecting(), tb.Producer())
	}
}
