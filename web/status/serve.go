package status

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/web"
)

// ListenAddr returns the address to listen on for addr as a --status flag
// gives it: "host:port" as is, ":port" or a bare port on 127.0.0.1, so
// that the page is not open to the network unless an address says so.
func ListenAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare port; anything else fails to listen, saying why.
		host, port = "", addr
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Listen starts p on loop and serves it on a new Site at ListenAddr(addr).
// Stopping the port does not stop the page: Service does both.
func (p *Page) Listen(loop *reactor.Reactor, addr string) (*internet.Port, error) {
	port, err := internet.ListenTCP(loop, ListenAddr(addr), web.NewSite(p.Resource()))
	if err != nil {
		return nil, err
	}
	if p.clk == nil {
		p.Start(loop)
	}
	return port, nil
}

// Service returns a service that serves p at addr (see Listen) while it
// runs, logging "status page at http://ADDR/", and stops p when it stops.
func (p *Page) Service(loop *reactor.Reactor, addr string) service.Service {
	return &pageService{p: p, loop: loop, addr: addr}
}

type pageService struct {
	service.Base
	p    *Page
	loop *reactor.Reactor
	addr string
	port *internet.Port
}

func (s *pageService) StartService() error {
	port, err := s.p.Listen(s.loop, s.addr)
	if err != nil {
		return &service.ListenError{Kind: "TCP", Addr: ListenAddr(s.addr), Err: err}
	}
	s.port = port
	slog.Info(fmt.Sprintf("status page at http://%s/", port.Addr()))
	return s.Base.StartService()
}

func (s *pageService) StopService() *deferred.Deferred {
	s.Base.StopService()
	s.p.Stop()
	if s.port == nil {
		return nil
	}
	d := s.port.StopListening()
	s.port = nil
	return d
}
