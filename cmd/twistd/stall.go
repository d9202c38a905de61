//go:build twistdtest

package main

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/twistd/plugins"
)

// The stall plugin is compiled only into the twistd the tests build (go build
// -tags twistdtest): no real plugin takes long to stop, and the tests of the
// shutdown time limit and of the second signal need one that does.
func init() {
	twistd.Register(twistd.ServiceMaker{
		Name:        "stall",
		Description: "fastpoetry, and a service that takes --stall to stop (tests only)",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			sf := plugins.AddServerFlags(fs, 0, "")
			stall := fs.Duration("stall", time.Hour, "how long the service takes to stop")
			return func(loop *reactor.Reactor) (service.Service, error) {
				m := service.NewMultiService()
				for _, s := range []service.Service{
					sf.Server(loop, &poetry.ServerFactory{Poem: poetry.Sonnet18}),
					&stallService{loop: loop, stall: *stall},
				} {
					if err := m.AddService(s); err != nil {
						return nil, err
					}
				}
				return m, nil
			}
		},
	})
}

// stallService is a service whose StopService returns a Deferred that fires
// stall after it is called.
type stallService struct {
	service.Base
	loop  *reactor.Reactor
	stall time.Duration
}

func (s *stallService) StopService() *deferred.Deferred {
	s.Base.StopService()
	log := slog.Default().With(twistd.System("stall"))
	log.Info(fmt.Sprintf("stopping, which takes %v", s.stall))
	d := deferred.New()
	s.loop.CallLater(s.stall, func() {
		log.Info("stopped")
		d.Callback(nil)
	})
	return d
}
