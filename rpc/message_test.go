package rpc

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func rawValue(t *testing.T, v any) bson.RawValue {
	typ, b, err := bson.MarshalValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return bson.RawValue{Type: typ, Value: b}
}

func TestMessageRoundTrip(t *testing.T) {
	args := rawValue(t, bson.A{1, "two"}).Array()
	info, _ := bson.Marshal(bson.D{{Key: "name", Value: "x"}})
	tests := []struct {
		name string
		m    Message
	}{
		{"call with id", Message{Kind: KindCall, ID: rawValue(t, int64(7)), Func: "add", Args: args}},
		{"call without id", Message{Kind: KindCall, Func: "f", Args: args}},
		{"call without arguments", Message{Kind: KindCall, Func: "f"}},
		{"noreply call", Message{Kind: KindCall, Func: "f", Args: args, NoReply: true}},
		{"reply", Message{Kind: KindReply, ID: rawValue(t, "k"), Value: rawValue(t, 3.5)}},
		{"null reply", Message{Kind: KindReply, ID: rawValue(t, int32(1))}},
		{"error", Message{Kind: KindError, ID: rawValue(t, int32(1)), Err: &Error{Message: Timeout, Detail: "slow"}}},
		{"info request", Message{Kind: KindInfo}},
		{"info answer", Message{Kind: KindInfo, Info: info}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendMessage(nil, &tt.m)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tt.m.Kind || m.Func != tt.m.Func || m.NoReply != tt.m.NoReply || !m.ID.Equal(tt.m.ID) {
				t.Fatalf("got %+v, want %+v", m, tt.m)
			}
			if len(tt.m.Args) > 0 && string(m.Args) != string(tt.m.Args) {
				t.Fatalf("args %v, want %v", m.Args, tt.m.Args)
			}
			if tt.m.Kind == KindReply && tt.m.Value.Type != 0 && !m.Value.Equal(tt.m.Value) {
				t.Fatalf("value %v, want %v", m.Value, tt.m.Value)
			}
			if tt.m.Kind == KindReply && tt.m.Value.Type == 0 && m.Value.Type != bson.TypeNull {
				t.Fatalf("value %v, want null", m.Value)
			}
			if tt.m.Err != nil && *m.Err != *tt.m.Err {
				t.Fatalf("error %v, want %v", m.Err, tt.m.Err)
			}
			if len(tt.m.Info) > 0 && string(m.Info) != string(tt.m.Info) {
				t.Fatalf("info %v", m.Info)
			}
		})
	}
}

func TestAppendMessageRefusesIncompleteMessages(t *testing.T) {
	for _, m := range []Message{{}, {Kind: KindError}} {
		if _, err := AppendMessage(nil, &m); err == nil {
			t.Errorf("AppendMessage(%+v) succeeded", m)
		}
	}
}

func TestParseMessageMalformed(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2}, {5, 0, 0, 0, 1}, {9, 0, 0, 0, 0}} {
		if _, err := ParseMessage(b); !errors.Is(err, ErrBadMessage) {
			t.Errorf("ParseMessage(%x) = %v", b, err)
		}
	}
}

func TestErrorIs(t *testing.T) {
	e := &Error{Message: Timeout, Detail: "x"}
	if !errors.Is(e, ErrTimeout) || errors.Is(e, ErrHandlerError) || errors.Is(ErrTimeout, e) {
		t.Fatal("errors.Is does not match by kind")
	}
	if e.Error() != "rpc: Timeout: x" || ErrTimeout.Error() != "rpc: Timeout" {
		t.Fatalf("Error() = %q", e.Error())
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindCall: "call", KindReply: "reply", KindError: "error", KindInfo: "info", 0: "Kind(0)"} {
		if k.String() != want {
			t.Errorf("%d: %q", int(k), k.String())
		}
	}
}
