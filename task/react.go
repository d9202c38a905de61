package task

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// ExitError asks React for an exit code (Twisted's SystemExit): a main
// whose Deferred fails with an ExitError, or with an error wrapping one,
// exits with Code, and the failure is not logged.
type ExitError struct {
	// Code is the process's exit code.
	Code int
}

// Error returns "exit status" and the code.
func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// React runs main on a new reactor made with opts, runs the reactor until
// the Deferred main returns fires, then stops it and exits the process with
// RunMain's code (Twisted's react). It does not return.
func React(main func(r *reactor.Reactor) *deferred.Deferred, opts ...reactor.Option) {
	os.Exit(RunMain(main, opts...))
}

// RunMain is React without the exit: it makes a reactor with opts, calls
// main with it before running it, runs it until the Deferred main returns
// fires (a nil Deferred counts as fired with nil), stops it, and returns the
// exit code:
//
//   - 0 if the Deferred succeeded, or never fired because something else
//     stopped the reactor;
//   - the Code of an ExitError the Deferred failed with;
//   - 1 if it failed with any other error, which is logged through
//     log/slog, or if the reactor could not be made or failed.
//
// If the reactor is already stopping when the Deferred fires, RunMain
// lets the shutdown finish.
func RunMain(main func(r *reactor.Reactor) *deferred.Deferred, opts ...reactor.Option) int {
	r, err := reactor.New(opts...)
	if err != nil {
		slog.Default().Error("task: cannot make a reactor", "error", err)
		return 1
	}
	code := 0
	finished := main(r)
	if finished == nil {
		finished = deferred.Succeed(nil)
	}
	finished.AddBoth(func(result any) (any, error) {
		if f, ok := result.(*deferred.Failure); ok {
			code = exitCode(f)
		}
		// Stop returns ErrNotRunning if the reactor is already stopping,
		// which is all that was wanted; after the shutdown, when the
		// reactor runs no more, CallWhenRunning never calls it.
		r.CallWhenRunning(func() { _ = r.Stop() })
		return nil, nil
	})
	if err := r.Run(); err != nil {
		return 1
	}
	return code
}

// exitCode returns the exit code for main's failure f, logging f unless it
// carries an ExitError.
func exitCode(f *deferred.Failure) int {
	var exit ExitError
	if errors.As(f, &exit) {
		return exit.Code
	}
	var exitPtr *ExitError
	if errors.As(f, &exitPtr) {
		return exitPtr.Code
	}
	slog.Default().Error("main function encountered error", "error", f.Error(), "traceback", f.Traceback())
	return 1
}
