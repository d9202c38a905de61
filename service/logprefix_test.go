package service

import (
	"net"
	"testing"

	"github.com/twistgo/twist/internet"
)

type namedFactory struct{}

func (namedFactory) BuildProtocol(net.Addr) internet.Protocol { return nil }
func (namedFactory) LogPrefix() string                        { return "RPCServer" }

type PoetryFactory struct{}

func (*PoetryFactory) BuildProtocol(net.Addr) internet.Protocol { return nil }

func TestLogPrefix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		factory any
		want    string
	}{
		{"LogPrefix method", namedFactory{}, "RPCServer"},
		{"pointer to a named type", &PoetryFactory{}, "PoetryFactory"},
		{"named func type", internet.FactoryFunc(nil), "FactoryFunc"},
		{"unnamed type", struct{}{}, "struct {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logPrefix(tc.factory); got != tc.want {
				t.Errorf("logPrefix = %q, want %q", got, tc.want)
			}
		})
	}
}
