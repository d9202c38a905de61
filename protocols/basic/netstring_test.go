package basic_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// netstringEcho records and echoes netstrings (Twisted's TestNetstring).
type netstringEcho struct {
	basic.NetstringReceiver
	received [][]byte
}

func (p *netstringEcho) StringReceived(s []byte) {
	p.received = append(p.received, bytes.Clone(s))
	p.Transport.Write(s)
}

func newNetstring() (*netstringEcho, *twisttest.StringTransport) {
	p := &netstringEcho{}
	p.Handler = p
	p.MaxLength = 50
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	return p, tr
}

func TestNetstringReceiverBuffer(t *testing.T) {
	strs := [][]byte{[]byte("hello"), []byte("world"), []byte("how"), []byte("are"), []byte("you123"), []byte(":today"), bytes.Repeat([]byte("a"), 515)}
	sender, tr := newNetstring()
	for _, s := range strs {
		sender.SendString(s)
	}
	stream := tr.Value()
	for name, chunks := range splits(stream) {
		p, tr := newNetstring()
		p.MaxLength = 699
		deliver(p.DataReceived, chunks)
		if got, want := show(p.received), show(strs); got != want || p.Err() != nil {
			t.Errorf("%s: received %s, err %v", name, got, p.Err())
		}
		if got, want := tr.Value(), bytes.Join(strs, nil); !bytes.Equal(got, want) {
			t.Errorf("%s: echoed %q", name, got)
		}
	}
}

func TestNetstringReceiverValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []string
		want  string
	}{
		{"empty netstring", []string{"0:,"}, `[""]`},
		{"one character", []string{"1:a,"}, `["a"]`},
		{"two characters", []string{"2:ab,"}, `["ab"]`},
		{"nested netstring", []string{"4:1:a,,"}, `["1:a,"]`},
		{"two portions", []string{"4:aa", "aa,"}, `["aaaa"]`},
		{"length split across portions", []string{"1", "0:01234", "56789", ","}, `["0123456789"]`},
		{"one character at a time", []string{"2", ":", "a", "b", ","}, `["ab"]`},
		{"two netstrings", []string{"1:a,1", ":b,"}, `["a" "b"]`},
		{"length of exactly MaxLength", []string{"50:" + strings.Repeat("m", 50) + ","}, `["` + strings.Repeat("m", 50) + `"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, tr := newNetstring()
			for _, part := range tc.parts {
				p.DataReceived([]byte(part))
			}
			if got := show(p.received); got != tc.want || tr.Disconnecting() || p.Err() != nil {
				t.Fatalf("received %s (want %s), disconnecting %v, err %v", got, tc.want, tr.Disconnecting(), p.Err())
			}
		})
	}
}

func TestNetstringReceiverInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, input, reason string
	}{
		{"more data than specified", "2:aaa,", "not followed by a comma"},
		{"data in an empty netstring", "0:a,", "not followed by a comma"},
		{"missing number", ":aaa,", "not a decimal number"},
		{"missing colon", "3aaa,", "not a decimal number"},
		{"missing number and colon", "aaa,", "not a decimal number"},
		{"only data", "aaa", "not a decimal number"},
		{"leading zero", "01:a,", "leading zero"},
		{"zeros", "00:", "leading zero"},
		{"negative", "-1:a,", "not a decimal number"},
		{"over MaxLength", "51:" + strings.Repeat("a", 51) + ",", "over the maximum of 50"},
		{"huge length", "9999999999999999999999", "over the maximum"},
		{"missing comma", "4:abcde", "not followed by a comma"},
		{"wrong last byte", "51:" + strings.Repeat("a", 50) + "b,", "over the maximum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, byByte := range []bool{false, true} {
				p, tr := newNetstring()
				if byByte {
					for i := range len(tc.input) {
						p.DataReceived([]byte(tc.input[i : i+1]))
					}
				} else {
					p.DataReceived([]byte(tc.input))
				}
				var perr *basic.NetstringParseError
				if !tr.Disconnecting() || !errors.As(p.Err(), &perr) || !strings.Contains(perr.Reason, tc.reason) {
					t.Fatalf("byte by byte %v: disconnecting %v, err %v; want a NetstringParseError about %q",
						byByte, tr.Disconnecting(), p.Err(), tc.reason)
				}
				if len(p.received) != 0 {
					t.Fatalf("received %s", show(p.received))
				}
			}
		})
	}
}

func TestNetstringReceiverLengthBorderCases(t *testing.T) {
	for _, tc := range []struct {
		max   int
		input string
		ok    bool
	}{
		{12, "12:", true},
		{11, "12:", false},
		{11, "1000:", false},
		{5, "7:", false},
		{5, "5:", true},
	} {
		p, _ := newNetstring()
		p.MaxLength = tc.max
		p.DataReceived([]byte(tc.input))
		if ok := p.Err() == nil; ok != tc.ok {
			t.Errorf("MaxLength %d, %q: err %v", tc.max, tc.input, p.Err())
		}
	}
}

func TestNetstringReceiverIgnoresInputAfterAnError(t *testing.T) {
	p, _ := newNetstring()
	p.DataReceived([]byte("x"))
	err := p.Err()
	p.DataReceived([]byte("1:a,"))
	if len(p.received) != 0 || p.Err() != err {
		t.Fatalf("received %s, err %v", show(p.received), p.Err())
	}
}

func TestNetstringReceiverDefaultMaxLength(t *testing.T) {
	for input, ok := range map[string]bool{"99999:": true, "100000:": false} {
		p := &netstringEcho{}
		p.Handler = p
		p.ConnectionMade(&twisttest.StringTransport{})
		p.DataReceived([]byte(input))
		if err := p.Err(); (err == nil) != ok || !ok && !strings.Contains(err.Error(), "maximum of 99999") {
			t.Errorf("%q: err %v", input, err)
		}
	}
}

func TestNetstringReceiverSendString(t *testing.T) {
	p, tr := newNetstring()
	p.SendString([]byte("hello"))
	p.SendString(nil)
	p.SendString(bytes.Repeat([]byte("x"), 12))
	if got, want := string(tr.Value()), "5:hello,0:,12:xxxxxxxxxxxx,"; got != want {
		t.Fatalf("written %q, want %q", got, want)
	}
}

func TestNetstringReceiverWithoutHandlerPanics(t *testing.T) {
	var p basic.NetstringReceiver
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "NetstringReceiver.Handler is nil") {
			t.Fatalf("panic %q", r)
		}
	}()
	p.DataReceived([]byte("0:,"))
}
