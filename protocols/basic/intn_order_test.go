package basic_test

import (
	"bytes"
	"testing"

	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// The byte order and whether the length counts its prefix, as Twisted's
// structFormat and MongoDB's messageLength choose them.
func TestIntNPrefixForms(t *testing.T) {
	for _, tc := range []struct {
		name     string
		little   bool
		included bool
		wire     []byte // "hi" framed
	}{
		{"big", false, false, []byte{0, 0, 0, 2, 'h', 'i'}},
		{"little", true, false, []byte{2, 0, 0, 0, 'h', 'i'}},
		{"big included", false, true, []byte{0, 0, 0, 6, 'h', 'i'}},
		{"little included", true, true, []byte{6, 0, 0, 0, 'h', 'i'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, tr := newStringReceiver[uint32]()
			p.LittleEndian, p.PrefixIncluded = tc.little, tc.included
			if err := p.SendString([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			if got := tr.Value(); !bytes.Equal(got, tc.wire) {
				t.Fatalf("SendString wrote %x, want %x", got, tc.wire)
			}
			// Byte by byte, then twice in one read.
			for _, b := range tc.wire {
				p.DataReceived([]byte{b})
			}
			p.DataReceived(append(bytes.Clone(tc.wire), tc.wire...))
			if got := show(p.received); got != show([][]byte{[]byte("hi"), []byte("hi"), []byte("hi")}) {
				t.Fatalf("received %s", got)
			}
		})
	}
}

// A length shorter than its own prefix is over the limit when the length
// counts the prefix.
func TestIntNPrefixIncludedTooShort(t *testing.T) {
	p := &limitCatcher[uint32]{}
	p.Handler = p
	p.PrefixIncluded, p.LittleEndian = true, true
	p.ConnectionMade(&twisttest.StringTransport{})
	p.DataReceived([]byte{3, 0, 0, 0, 'x'})
	if len(p.lengths) != 1 || p.lengths[0] != 3 || len(p.received) != 0 {
		t.Fatalf("lengths %v, received %d strings: want [3] and none", p.lengths, len(p.received))
	}
}

// Recvd is what arrived and was not delivered; HoldStrings keeps strings
// back while reading goes on, and ReleaseStrings delivers them.
func TestIntNRecvdAndHold(t *testing.T) {
	p, tr := newStringReceiver[uint16]()
	p.DataReceived([]byte{0, 3, 'a'})
	if got := p.Recvd(); !bytes.Equal(got, []byte{0, 3, 'a'}) || p.Buffered() != 3 {
		t.Fatalf("Recvd %x, Buffered %d: want 000361, 3", got, p.Buffered())
	}
	p.HoldStrings()
	p.DataReceived([]byte{'b', 'c', 0, 1, 'd'})
	if len(p.received) != 0 || p.Buffered() != 8 {
		t.Fatalf("held: delivered %d, buffered %d; want 0, 8", len(p.received), p.Buffered())
	}
	if tr.ProducerState() != twisttest.Producing {
		t.Fatal("HoldStrings paused the transport")
	}
	p.ReleaseStrings()
	if got := show(p.received); got != show([][]byte{[]byte("abc"), []byte("d")}) || p.Buffered() != 0 {
		t.Fatalf("released: %s, %d buffered", got, p.Buffered())
	}
}

// A buffer grown by one big string is given back once it is delivered.
func TestIntNBufferShrinks(t *testing.T) {
	p := &basic.Int32StringReceiver{MaxLength: 4 << 20}
	var got int
	p.Handler = handlerFunc(func(s []byte) { got = len(s) })
	p.ConnectionMade(&twisttest.StringTransport{})
	big := frame(4, string(make([]byte, 2<<20)))
	for i := 0; i < len(big); i += 1 << 16 {
		p.DataReceived(big[i:min(i+1<<16, len(big))])
	}
	p.DataReceived([]byte{0, 0})
	if got != 2<<20 {
		t.Fatalf("delivered %d bytes, want %d", got, 2<<20)
	}
	if n := basic.BufferCap(p); n > 64<<10 {
		t.Fatalf("the receiver keeps a %d-byte buffer after a big string", n)
	}
}

type handlerFunc func([]byte)

func (f handlerFunc) StringReceived(s []byte) { f(s) }
