package basic_test

import (
	"testing"

	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

type partialLines struct{ basic.LineReceiver }

func (*partialLines) LineReceived([]byte) {}

type partialOnlyLines struct{ basic.LineOnlyReceiver }

func (*partialOnlyLines) LineReceived([]byte) {}

type partialInt32 struct{ basic.Int32StringReceiver }

func (*partialInt32) StringReceived([]byte) {}

type partialNetstring struct{ basic.NetstringReceiver }

func (*partialNetstring) StringReceived([]byte) {}

// receiver is what the PartialMessage test needs of each receiver.
type receiver interface {
	DataReceived([]byte)
	PartialMessage() bool
}

func TestPartialMessage(t *testing.T) {
	newLines := func() receiver {
		r := &partialLines{}
		r.Handler = r
		r.ConnectionMade(&twisttest.StringTransport{})
		return r
	}
	newOnly := func() receiver {
		r := &partialOnlyLines{}
		r.Handler = r
		r.ConnectionMade(&twisttest.StringTransport{})
		return r
	}
	newInt := func() receiver {
		r := &partialInt32{}
		r.Handler = r
		r.ConnectionMade(&twisttest.StringTransport{})
		return r
	}
	newNet := func() receiver {
		r := &partialNetstring{}
		r.Handler = r
		r.ConnectionMade(&twisttest.StringTransport{})
		return r
	}
	for _, tc := range []struct {
		name     string
		new      func() receiver
		complete string // one whole message
	}{
		{"LineReceiver", newLines, "hello\r\n"},
		{"LineOnlyReceiver", newOnly, "hello\r\n"},
		{"Int32StringReceiver", newInt, "\x00\x00\x00\x05hello"},
		{"NetstringReceiver", newNet, "5:hello,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.new()
			if r.PartialMessage() {
				t.Fatal("partial before any input")
			}
			for i := 1; i < len(tc.complete); i++ {
				r.DataReceived([]byte(tc.complete[i-1 : i]))
				if !r.PartialMessage() {
					t.Fatalf("not partial after %q", tc.complete[:i])
				}
			}
			r.DataReceived([]byte(tc.complete[len(tc.complete)-1:]))
			if r.PartialMessage() {
				t.Fatal("partial after a whole message")
			}
		})
	}
}

func TestPartialMessageNotWhilePaused(t *testing.T) {
	r := &partialInt32{}
	r.Handler = r
	r.ConnectionMade(&twisttest.StringTransport{})
	r.PauseProducing()
	r.DataReceived([]byte{0, 0})
	if r.PartialMessage() {
		t.Fatal("input held by a paused receiver counted as a message the peer has not finished")
	}
	r.ResumeProducing()
	if !r.PartialMessage() {
		t.Fatal("not partial once resumed")
	}
}
