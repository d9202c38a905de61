//go:build unix

package process

import (
	"errors"
	"syscall"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// result runs f on a loop and returns its Deferred's value or failure.
func result(t *testing.T, f func(loop *reactor.Reactor) *deferred.Deferred) (any, error) {
	t.Helper()
	var err error
	v := twisttest.Run(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return f(loop).AddErrback(func(f *deferred.Failure) (any, error) {
			err = f.Value()
			return nil, nil
		})
	})
	return v, err
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func TestGetProcessOutput(t *testing.T) {
	v, err := result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutput(loop, sh("echo hello; exit 4"), nil, "")
	})
	if err != nil || string(v.([]byte)) != "hello\n" {
		t.Errorf("%q, %v", v, err)
	}
	_, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutput(loop, sh("echo out; echo oops >&2; cat"), nil, "")
	})
	var se *StderrError
	if !errors.As(err, &se) || string(se.Stderr) != "oops\n" || se.Reason == nil {
		t.Errorf("stderr: %v", err)
	} else if se.Error() != `process: the process wrote to its standard error: "oops\n"` {
		t.Errorf("message %q", se.Error())
	}
	v, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutput(loop, sh("echo out; echo err >&2"), nil, "", WithErrorToo())
	})
	if err != nil || (string(v.([]byte)) != "out\nerr\n" && string(v.([]byte)) != "err\nout\n") {
		t.Errorf("errortoo: %q, %v", v, err)
	}
	_, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutput(loop, sh("yes"), nil, "", WithMaxOutput(100<<10))
	})
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Errorf("limit: %v", err)
	}
	_, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutput(loop, []string{"twist-no-such-program"}, nil, "")
	})
	if err == nil {
		t.Error("a missing program ran")
	}
}

func TestGetProcessOutputAndValue(t *testing.T) {
	v, err := result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutputAndValue(loop, sh("echo out; echo err >&2; exit 7"), nil, "")
	})
	if o, ok := v.(Output); err != nil || !ok || string(o.Stdout) != "out\n" || string(o.Stderr) != "err\n" || o.ExitCode != 7 {
		t.Errorf("%+v, %v", v, err)
	}
	_, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessOutputAndValue(loop, sh("echo partial; kill -TERM $$"), nil, "")
	})
	var sig *SignalError
	if !errors.As(err, &sig) || sig.Signal != syscall.SIGTERM || string(sig.Stdout) != "partial\n" {
		t.Errorf("signal: %v", err)
	}
}

func TestGetProcessValue(t *testing.T) {
	v, err := result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessValue(loop, sh("yes | head -c 1000000; exit 5"), nil, "")
	})
	if err != nil || v != 5 {
		t.Errorf("%v, %v", v, err)
	}
	v, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessValue(loop, []string{"true"}, nil, "")
	})
	if err != nil || v != 0 {
		t.Errorf("%v, %v", v, err)
	}
	_, err = result(t, func(loop *reactor.Reactor) *deferred.Deferred {
		return GetProcessValue(loop, sh("kill -KILL $$"), nil, "")
	})
	var pt *ProcessTerminated
	if !errors.As(err, &pt) || pt.Signal != syscall.SIGKILL {
		t.Errorf("signal: %v", err)
	}
}
