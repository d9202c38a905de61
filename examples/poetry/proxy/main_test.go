package main

import (
	"net"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// proxyTo listens with a proxy of upstream on a free loopback port.
func proxyTo(n internet.Net, upstream string, log *strings.Builder) (*proxyFactory, internet.ListeningPort, error) {
	f := &proxyFactory{n: n, upstream: upstream, log: log}
	port, err := n.ListenTCP("127.0.0.1:0", f)
	return f, port, err
}

func TestServesFromTheCacheOnceFetched(t *testing.T) {
	var log strings.Builder
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		upstream, err := n.ListenTCP("127.0.0.1:0", &poetry.ServerFactory{Poem: poetry.Sonnet18})
		if err != nil {
			return deferred.Fail(err)
		}
		_, port, err := proxyTo(n, upstream.Addr().String(), &log)
		if err != nil {
			upstream.StopListening()
			return deferred.Fail(err)
		}
		addr := port.Addr().String()
		var poems []any
		return poetry.Get(n, addr, nil).AddCallback(func(v any) (any, error) {
			poems = append(poems, v)
			// With the upstream server gone, only the cache can answer.
			upstream.StopListening()
			return poetry.Get(n, addr, nil), nil
		}).AddBoth(func(v any) (any, error) {
			upstream.StopListening()
			port.StopListening()
			if _, failed := v.(*deferred.Failure); failed {
				return v, nil
			}
			return append(poems, v), nil
		})
	}).([]any)
	if len(got) != 2 || got[0] != string(poetry.Sonnet18) || got[1] != string(poetry.Sonnet18) {
		t.Fatalf("got %q, want Sonnet 18 twice", got)
	}
	if want := "Fetching poem from server.\nUsing cached poem.\n"; log.String() != want {
		t.Fatalf("log %q, want %q", log.String(), want)
	}
}

// holder is an upstream server that never sends its poem; it tells when a
// client connects and when that client goes away.
type holder struct {
	internet.BaseProtocol
	made, lost *deferred.Deferred
}

func (h *holder) ConnectionMade(internet.Transport) { h.made.Callback(nil) }
func (h *holder) ConnectionLost(reason error)       { h.lost.Callback(reason) }

func TestCancelsTheDownloadWhenTheClientGoes(t *testing.T) {
	var log strings.Builder
	var proxy *proxyFactory
	h := &holder{made: deferred.New(), lost: deferred.New()}
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		n := internet.RealNet(r)
		upstream, err := n.ListenTCP("127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol { return h }))
		if err != nil {
			return deferred.Fail(err)
		}
		var port internet.ListeningPort
		proxy, port, err = proxyTo(n, upstream.Addr().String(), &log)
		if err != nil {
			upstream.StopListening()
			return deferred.Fail(err)
		}
		client := &internet.BaseProtocol{}
		internet.ConnectProtocol(r, port.Addr().String(), client)
		// Once the proxy is fetching, the client hangs up; the upstream
		// server must then see its connection go.
		return h.made.AddCallback(func(any) (any, error) {
			client.Transport.LoseConnection()
			return h.lost, nil
		}).AddBoth(func(v any) (any, error) {
			upstream.StopListening()
			port.StopListening()
			return v, nil
		})
	})
	if got != internet.ErrConnectionDone {
		t.Fatalf("upstream connection lost with %v, want a clean close", got)
	}
	if proxy.poem != nil {
		t.Fatal("a cancelled download filled the cache")
	}
	if want := "Fetching poem from server.\nNo poem for 127.0.0.1:"; !strings.HasPrefix(log.String(), want) ||
		!strings.HasSuffix(log.String(), ": "+deferred.ErrCancelled.Error()+"\n") {
		t.Fatalf("log %q", log.String())
	}
}
