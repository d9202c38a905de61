package mongowire

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/protocols/policies"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/twisttest"
)

// An rpc.Server's Drain drains the wire-protocol connections built on it,
// and they have its limits.
func TestDrainThroughRPCServer(t *testing.T) {
	r := rpc.NewServer(rpc.WithLimits(rpc.Limits{MaxWireMessage: 1000, MaxPending: 7}))
	var later []*deferred.Deferred
	must(t, r.Register("later", func() *deferred.Deferred {
		d := deferred.New()
		later = append(later, d)
		return d
	}))
	s := NewServer(r)
	if s.maxMessageSize != 1000 || s.maxPending != 7 {
		t.Fatalf("limits %d, %d: want the rpc.Server's 1000, 7", s.maxMessageSize, s.maxPending)
	}
	p := s.BuildProtocol(nil)
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	p.ConnectionMade(tr)
	p.DataReceived(command(t, 1, bson.D{{Key: "later", Value: bson.A{}}}))
	done := r.Drain(context.Background())
	p.DataReceived(command(t, 2, bson.D{{Key: "ping", Value: 1}}))
	if rs := replies(t, &tr.StringTransport); len(rs) != 0 || tr.Disconnecting() {
		t.Fatalf("draining: %d replies, closing %v; want none and open", len(rs), tr.Disconnecting())
	}
	later[0].Callback("x")
	rs := replies(t, &tr.StringTransport)
	if len(rs) != 1 || rs[0].responseTo != 1 {
		t.Fatalf("got %+v, want the answer to request 1", rs)
	}
	if !tr.Disconnecting() {
		t.Fatal("the connection stays open once its call is answered")
	}
	select {
	case <-done:
	default:
		t.Fatal("Drain's channel is open once every connection closed")
	}
}

// The wire protocol's connections report their message state to the
// time-out policy.
var _ policies.MessageState = (*conn)(nil)
