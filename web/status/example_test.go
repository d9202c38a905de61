package status_test

import (
	"log/slog"
	"os"

	"github.com/twistgo/twist/metrics"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web/status"
)

// A program on one loop serves its status page, /status.json and /metrics
// on 127.0.0.1:9100, asking for a token, and keeps its log's recent errors
// for the page.
func Example() {
	errs := status.NewErrorLog(slog.NewTextHandler(os.Stderr, nil), 0, slog.LevelError)
	slog.SetDefault(slog.New(errs))
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	reg := metrics.NewRegistry()
	reg.AddLoop("main", loop)
	reg.AddOpenListeners()
	page, err := status.New(reg, status.Options{Token: "s3cret", Errors: errs, Title: "myserver"})
	if err != nil {
		panic(err)
	}
	loop.CallWhenRunning(func() {
		if _, err := page.Listen(loop, ":9100"); err != nil {
			slog.Error("status page", "err", err)
		}
	})
	// ... the program's own listeners, then loop.Run().
}
