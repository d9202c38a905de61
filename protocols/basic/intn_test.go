package basic_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// stringReceiver is the protocol the int-prefixed tests use (Twisted's
// TestInt32 and friends): it records strings.
type stringReceiver[P uint8 | uint16 | uint32] struct {
	basic.IntStringReceiver[P]
	received [][]byte
	pauseOn  []byte // pause after receiving this string, if not nil
}

func (p *stringReceiver[P]) StringReceived(s []byte) {
	p.received = append(p.received, bytes.Clone(s))
	if p.pauseOn != nil && bytes.Equal(s, p.pauseOn) {
		p.PauseProducing()
	}
}

// limitCatcher also handles length prefixes over the limit.
type limitCatcher[P uint8 | uint16 | uint32] struct {
	stringReceiver[P]
	lengths []uint64
}

func (p *limitCatcher[P]) LengthLimitExceeded(n uint64) { p.lengths = append(p.lengths, n) }

func newStringReceiver[P uint8 | uint16 | uint32]() (*stringReceiver[P], *twisttest.StringTransport) {
	p := &stringReceiver[P]{}
	p.Handler = p
	p.MaxLength = 50
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	return p, tr
}

// frame returns s with a size-byte big-endian length prefix.
func frame(size int, s string) []byte {
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], uint64(len(s)))
	return append(p[8-size:], s...)
}

// testIntN runs the tests common to the three int-prefixed receivers.
func testIntN[P uint8 | uint16 | uint32](t *testing.T, size int, illegal, partials []string) {
	strs := []string{"a", strings.Repeat("b", 16), "", "end"}
	var stream []byte
	for _, s := range strs {
		stream = append(stream, frame(size, s)...)
	}
	wantAll := show([][]byte{[]byte("a"), []byte(strings.Repeat("b", 16)), {}, []byte("end")})

	t.Run("receive at every split", func(t *testing.T) {
		for name, chunks := range splits(stream) {
			p, tr := newStringReceiver[P]()
			deliver(p.DataReceived, chunks)
			if got := show(p.received); got != wantAll || tr.Disconnecting() {
				t.Errorf("%s: received %s (want %s), disconnecting %v", name, got, wantAll, tr.Disconnecting())
			}
		}
	})
	t.Run("receive byte by byte", func(t *testing.T) {
		p, _ := newStringReceiver[P]()
		for i := range stream {
			p.DataReceived(stream[i : i+1])
		}
		if got := show(p.received); got != wantAll {
			t.Fatalf("received %s, want %s", got, wantAll)
		}
	})
	t.Run("partial", func(t *testing.T) {
		for _, s := range partials {
			p, _ := newStringReceiver[P]()
			for i := range len(s) {
				p.DataReceived([]byte(s[i : i+1]))
			}
			if len(p.received) != 0 {
				t.Errorf("%q: received %s", s, show(p.received))
			}
		}
	})
	t.Run("illegal", func(t *testing.T) {
		for _, s := range illegal {
			p, tr := newStringReceiver[P]()
			for i := range len(s) {
				p.DataReceived([]byte(s[i : i+1]))
			}
			if !tr.Disconnecting() || len(p.received) != 0 {
				t.Errorf("%q: disconnecting %v, received %s", s, tr.Disconnecting(), show(p.received))
			}
		}
	})
	t.Run("send", func(t *testing.T) {
		p, tr := newStringReceiver[P]()
		if err := p.SendString([]byte(strings.Repeat("b", 16))); err != nil {
			t.Fatal(err)
		}
		if got, want := tr.Value(), frame(size, strings.Repeat("b", 16)); !bytes.Equal(got, want) {
			t.Fatalf("written %q, want %q", got, want)
		}
	})
	t.Run("data", func(t *testing.T) {
		p, tr := newStringReceiver[P]()
		p.SendString([]byte("foo"))
		if got, want := string(tr.Value()), strings.Repeat("\x00", size-1)+"\x03foo"; got != want {
			t.Fatalf("written %q, want %q", got, want)
		}
		p.DataReceived([]byte(strings.Repeat("\x00", size-1) + "\x04ubar"))
		if got := show(p.received); got != `["ubar"]` {
			t.Fatalf("received %s", got)
		}
	})
	t.Run("length limit exceeded as soon as the prefix is read", func(t *testing.T) {
		p := &limitCatcher[P]{}
		p.Handler = p
		p.MaxLength = 10
		tr := &twisttest.StringTransport{}
		p.ConnectionMade(tr)
		msg := frame(size, strings.Repeat("x", 11))
		p.DataReceived(msg[:size])
		if len(p.lengths) != 1 || p.lengths[0] != 11 {
			t.Fatalf("LengthLimitExceeded got %v, want [11]", p.lengths)
		}
		p.DataReceived(msg[size:])
		p.DataReceived(frame(size, "ok"))
		if len(p.received) != 0 || len(p.lengths) != 1 || tr.Disconnecting() {
			t.Fatalf("after the limit: received %s, lengths %v, disconnecting %v; want input ignored",
				show(p.received), p.lengths, tr.Disconnecting())
		}
	})
	t.Run("long string not delivered", func(t *testing.T) {
		p, tr := newStringReceiver[P]()
		p.MaxLength = 10
		p.DataReceived(append(frame(size, strings.Repeat("x", 11)), frame(size, "ok")...))
		if len(p.received) != 0 || !tr.Disconnecting() {
			t.Fatalf("received %s, disconnecting %v", show(p.received), tr.Disconnecting())
		}
	})
	t.Run("pause and resume", func(t *testing.T) {
		for name, chunks := range splits(stream) {
			p, tr := newStringReceiver[P]()
			p.pauseOn = []byte("a")
			deliver(p.DataReceived, chunks)
			if got := show(p.received); got != `["a"]` || tr.ProducerState() != twisttest.Paused {
				t.Errorf("%s: paused: received %s, transport %v", name, got, tr.ProducerState())
			}
			p.ResumeProducing()
			if got := show(p.received); got != wantAll || p.Paused() {
				t.Errorf("%s: resumed: received %s, paused %v", name, got, p.Paused())
			}
		}
	})
	t.Run("stop", func(t *testing.T) {
		p, tr := newStringReceiver[P]()
		p.StopProducing()
		p.DataReceived(stream)
		if len(p.received) != 0 || tr.ProducerState() != twisttest.Stopped || !p.Paused() {
			t.Fatalf("received %s, transport %v", show(p.received), tr.ProducerState())
		}
	})
}

func TestInt32StringReceiver(t *testing.T) {
	testIntN[uint32](t, 4, []string{"\x10\x00\x00\x00aaaaaa"}, []string{"\x00\x00\x00", "hello there", ""})
}

func TestInt16StringReceiver(t *testing.T) {
	testIntN[uint16](t, 2, []string{"\x10\x00aaaaaa"}, []string{"\x00", "hello there", ""})
}

func TestInt8StringReceiver(t *testing.T) {
	testIntN[uint8](t, 1, []string{"\x33aaaaaa"}, []string{"\x08", "dzadz", ""})
}

func TestIntStringReceiverTooLongSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func([]byte) error
		max  int
	}{
		{"int8", (&basic.Int8StringReceiver{}).SendString, 1<<8 - 1},
		{"int16", (&basic.Int16StringReceiver{}).SendString, 1<<16 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.send(make([]byte, tc.max+1)); !errors.Is(err, basic.ErrStringTooLong) {
				t.Fatalf("SendString of %d bytes: %v, want ErrStringTooLong", tc.max+1, err)
			}
		})
	}
}

func TestIntStringReceiverLongestStringForThePrefix(t *testing.T) {
	p := &stringReceiver[uint8]{}
	p.Handler = p
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	s := strings.Repeat("z", 255)
	if err := p.SendString([]byte(s)); err != nil {
		t.Fatal(err)
	}
	p.DataReceived(tr.Value())
	if len(p.received) != 1 || string(p.received[0]) != s {
		t.Fatalf("round trip of 255 bytes: %d strings", len(p.received))
	}
}

func TestIntStringReceiverDefaultMaxLength(t *testing.T) {
	p := &stringReceiver[uint32]{}
	p.Handler = p
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	p.DataReceived(frame(4, strings.Repeat("x", basic.DefaultMaxStringLength)))
	if len(p.received) != 1 || tr.Disconnecting() {
		t.Fatalf("string of DefaultMaxStringLength: %d received, disconnecting %v", len(p.received), tr.Disconnecting())
	}
	p.DataReceived(frame(4, strings.Repeat("x", basic.DefaultMaxStringLength+1)))
	if len(p.received) != 1 || !tr.Disconnecting() {
		t.Fatalf("string over DefaultMaxStringLength: %d received, disconnecting %v", len(p.received), tr.Disconnecting())
	}
}

func TestIntStringReceiverWithoutHandlerPanics(t *testing.T) {
	var p basic.Int32StringReceiver
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "Handler is nil") {
			t.Fatalf("panic %q", r)
		}
	}()
	p.DataReceived([]byte{0, 0, 0, 0})
}
