package twistd_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

// A TextHandler writes Twisted's log lines; the system in brackets comes
// from the "system" attribute.
func ExampleTextHandler() {
	logger := slog.New(twistd.NewTextHandler(os.Stdout, nil))
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	poetry := logger.With(twistd.System("PoetryFactory"))
	for _, l := range []*slog.Logger{logger, poetry} {
		r := slog.NewRecord(at, slog.LevelInfo, "sending 3003 bytes of poetry", 0)
		r.Add("peer", "127.0.0.1:52144")
		l.Handler().Handle(context.Background(), r)
	}
	// Output:
	// 2026-11-21 10:00:00+0000 [-] sending 3003 bytes of poetry peer=127.0.0.1:52144
	// 2026-11-21 10:00:00+0000 [PoetryFactory] sending 3003 bytes of poetry peer=127.0.0.1:52144
}

// A plugin registers its flags and returns the function that makes its
// service from them; a program that registers it and calls twistd.Main runs
// it with "twistd tick --every 5s".
func ExampleRegister() {
	twistd.Register(twistd.ServiceMaker{
		Name:        "tick",
		Description: "logs a tick at an interval",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			every := fs.Duration("every", time.Second, "interval between ticks")
			return func(loop *reactor.Reactor) (service.Service, error) {
				return service.NewTimerService(loop, *every, func() (any, error) {
					slog.Info("tick", twistd.System("tick"))
					return nil, nil
				}), nil
			}
		},
	})
	// func main() { twistd.Main() }
}
