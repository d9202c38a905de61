package twistd

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
)

// stopResult is a service whose StopService returns a set result.
type stopResult struct {
	service.Base
	stopped func() *deferred.Deferred
}

func (s *stopResult) StopService() *deferred.Deferred {
	s.Base.StopService()
	return s.stopped()
}

func TestStopWithin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stopped func() *deferred.Deferred
		wantLog string
	}{
		{"a nil Deferred", func() *deferred.Deferred { return nil }, ""},
		{"a fired Deferred", func() *deferred.Deferred { return deferred.Succeed(nil) }, ""},
		{"a failed Deferred is logged", func() *deferred.Deferred { return deferred.Fail(errors.New("disk on fire")) },
			"Stopping the services failed: disk on fire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			loop, err := reactor.New()
			if err != nil {
				t.Fatal(err)
			}
			svc := &stopResult{stopped: tc.stopped}
			var done *deferred.Deferred
			loop.CallWhenRunning(func() {
				// Stop first, so that a panic below cannot keep the loop running.
				loop.Stop()
				svc.StartService()
				done = stopWithin(loop, svc, time.Hour, logger)
			})
			if err := loop.Run(); err != nil {
				t.Fatal(err)
			}
			if done == nil || !done.Called() {
				t.Fatal("stopWithin's Deferred did not fire when the services had stopped")
			}
			if got := logs.String(); tc.wantLog == "" && got != "" || !strings.Contains(got, tc.wantLog) {
				t.Errorf("log = %q, want %q", got, tc.wantLog)
			}
		})
	}
}
