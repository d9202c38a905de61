package rpc

import (
	"testing"

	"github.com/twistgo/twist/twisttest"
)

// BenchmarkDispatchAdd measures a call of add(1, 2), from its encoded frame
// to its encoded reply, over a StringTransport.
func BenchmarkDispatchAdd(b *testing.B) {
	s := NewServer()
	s.Register("add", func(a, b int) int { return a + b })
	p := s.Factory().BuildProtocol(nil)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	in := call(b, 7, "add", 1, 2)
	b.ReportAllocs()
	for b.Loop() {
		p.DataReceived(in)
		tr.Clear()
	}
}
