package plugins

import (
	"iter"
	"log/slog"

	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/web/status"
)

// Status is twistd's status page (twistd.StatusPage) over package
// web/status, which a twistd sets with twistd.SetStatusPage, as cmd/twistd
// does. It shows twistd's loop ("main"), the default thread pool, the
// plugin's listeners, the RPC servers of its services (the rpc plugin's),
// and the errors of the log.
var Status twistd.StatusPage = &statusPage{}

type statusPage struct {
	errors *status.ErrorLog
}

// WrapLog keeps the log's recent errors for the page.
func (s *statusPage) WrapLog(h slog.Handler) slog.Handler {
	s.errors = status.NewErrorLog(h, 0, slog.LevelError)
	return s.errors
}

// Service returns the page's service.
func (s *statusPage) Service(loop *reactor.Reactor, svc service.Service, addr, token string) (service.Service, error) {
	reg := metrics.NewRegistry()
	reg.AddLoop("main", loop)
	reg.AddThreadPool("default", threads.Default())
	// The plugin's listeners, and the page's own: every one open.
	reg.AddOpenListeners()
	for sv := range walk(svc) {
		if r, ok := sv.(interface{ RPCServer() *rpc.Server }); ok {
			name := sv.Name()
			if name == "" {
				name = "rpc"
			}
			reg.AddRPCServer(name, r.RPCServer())
		}
	}
	p, err := status.New(reg, status.Options{Token: token, Errors: s.errors, Title: "twistd"})
	if err != nil {
		return nil, err
	}
	return p.Service(loop, addr), nil
}

// walk yields svc and the services below it, depth first.
func walk(svc service.Service) iter.Seq[service.Service] {
	return func(yield func(service.Service) bool) {
		stack := []service.Service{svc}
		for len(stack) > 0 {
			sv := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !yield(sv) {
				return
			}
			if c, ok := sv.(interface {
				Services() iter.Seq[service.Service]
			}); ok {
				for child := range c.Services() {
					stack = append(stack, child)
				}
			}
		}
	}
}
