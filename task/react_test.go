package task_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internal/testlog"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
)

type expectedError struct{}

func (expectedError) Error() string { return "expected failure" }

// stopThenFire returns a main that stops the reactor and fires its Deferred
// with fire in the "during" phase of the shutdown, when it is too late to
// stop the reactor again.
func stopThenFire(fire func(d *deferred.Deferred)) func(r *reactor.Reactor) *deferred.Deferred {
	return func(r *reactor.Reactor) *deferred.Deferred {
		finished := deferred.New()
		r.CallLater(time.Millisecond, func() { r.Stop() })
		r.AddSystemEventTrigger(reactor.During, "shutdown", func() *deferred.Deferred {
			fire(finished)
			return nil
		})
		return finished
	}
}

func TestRunMain(t *testing.T) {
	tests := []struct {
		name   string
		main   func(r *reactor.Reactor) *deferred.Deferred
		code   int
		logged bool
	}{
		{"synchronous success", func(*reactor.Reactor) *deferred.Deferred { return deferred.Succeed(nil) }, 0, false},
		{"nil Deferred", func(*reactor.Reactor) *deferred.Deferred { return nil }, 0, false},
		{"synchronous failure", func(*reactor.Reactor) *deferred.Deferred { return deferred.Fail(expectedError{}) }, 1, true},
		{"asynchronous failure", func(r *reactor.Reactor) *deferred.Deferred {
			return task.DeferLater(r, time.Millisecond, func() (any, error) { return nil, expectedError{} })
		}, 1, true},
		{"exit code", func(*reactor.Reactor) *deferred.Deferred { return deferred.Fail(task.ExitError{Code: 23}) }, 23, false},
		{"wrapped exit code pointer", func(*reactor.Reactor) *deferred.Deferred {
			return deferred.Fail(fmt.Errorf("giving up: %w", &task.ExitError{Code: 7}))
		}, 7, false},
		{"fires after the reactor stopped", stopThenFire(func(d *deferred.Deferred) { d.Callback(nil) }), 0, false},
		{"fails after the reactor stopped", stopThenFire(func(d *deferred.Deferred) { d.Errback(expectedError{}) }), 1, true},
		{"stopped just before firing", func(r *reactor.Reactor) *deferred.Deferred {
			d := deferred.New()
			r.CallWhenRunning(func() {
				r.Stop()
				d.Callback(nil)
			})
			return d
		}, 0, false},
		{"stopped, never fires", func(r *reactor.Reactor) *deferred.Deferred {
			r.CallLater(time.Millisecond, func() { r.Stop() })
			return deferred.New()
		}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := testlog.CaptureDefault(t)
			if code := task.RunMain(tt.main); code != tt.code {
				t.Fatalf("exit code %d, want %d", code, tt.code)
			}
			logged := strings.Count(log.String(), "main function encountered error")
			if want := map[bool]int{false: 0, true: 1}[tt.logged]; logged != want {
				t.Fatalf("failure logged %d times, want %d; log:\n%s", logged, want, log)
			}
			if tt.logged && !strings.Contains(log.String(), "expected failure") {
				t.Fatalf("the log does not hold the failure:\n%s", log)
			}
		})
	}
}

// RunMain runs the reactor until main's Deferred fires: the calls due
// before it run, and it stops then.
func TestRunMainRunsUntilFired(t *testing.T) {
	var ran []string
	code := task.RunMain(func(r *reactor.Reactor) *deferred.Deferred {
		r.CallLater(time.Millisecond, func() { ran = append(ran, "first") })
		r.CallLater(time.Hour, func() { ran = append(ran, "never") })
		return task.DeferLater(r, 2*time.Millisecond, func() (any, error) {
			ran = append(ran, "finished")
			return nil, nil
		})
	})
	if code != 0 || strings.Join(ran, ",") != "first,finished" {
		t.Fatalf("code %d, ran %v; want 0, [first finished]", code, ran)
	}
}

// React exits the process with RunMain's code; it runs in a child process.
func TestReactExits(t *testing.T) {
	if os.Getenv("TWIST_TASK_REACT_CHILD") == "1" {
		task.React(func(*reactor.Reactor) *deferred.Deferred {
			return deferred.Fail(task.ExitError{Code: 3})
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReactExits$")
	cmd.Env = append(os.Environ(), "TWIST_TASK_REACT_CHILD=1")
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child process: %v, want exit status 3", err)
	}
}
