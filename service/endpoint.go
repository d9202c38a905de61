package service

import (
	"errors"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/internet/endpoints"
)

// EndpointServer returns a service that listens on e while it runs, serving
// connections with f (Twisted's StreamServerEndpointService): what a
// twistd plugin makes of a --listen description. e's Listen must fire
// before it returns, as the endpoints of package endpoints do on one loop.
func EndpointServer(e endpoints.ServerEndpoint, f internet.Factory) *StreamServer {
	s := &StreamServer{portServer{kind: "TCP", name: logPrefix(f)}}
	s.open = func() (func() *deferred.Deferred, net.Addr, error) {
		var (
			port endpoints.Port
			err  error
		)
		e.Listen(f).AddCallbacks(func(v any) (any, error) {
			port = v.(endpoints.Port)
			return nil, nil
		}, func(fl *deferred.Failure) (any, error) {
			err = fl.Unwrap()
			return nil, nil
		})
		if port == nil && err == nil {
			err = errors.New("service: the endpoint did not listen at once")
		}
		if err != nil {
			return nil, nil, err
		}
		if _, unix := port.Addr().(*net.UnixAddr); unix {
			s.kind = "Unix"
		}
		return port.StopListening, port.Addr(), nil
	}
	return s
}
