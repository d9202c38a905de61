package process

import (
	"errors"
	"syscall"
	"testing"
)

// TestReapingWithoutPidfd runs children as on a kernel without pidfds:
// a goroutine waits for each.
func TestReapingWithoutPidfd(t *testing.T) {
	noPidfd = true
	defer func() { noPidfd = false }()
	r := newRecorder()
	reason := spawn(t, r, sh("echo hi; exit 6"), nil, "")
	var pt *ProcessTerminated
	if !errors.As(reason, &pt) || pt.ExitCode != 6 || r.exited != reason || string(r.out) != "hi\n" {
		t.Errorf("ended with %v, exited %v, out %q", reason, r.exited, r.out)
	}
	r = newRecorder()
	r.onMade = func(r *recorder) { _ = r.Transport.SignalProcess(syscall.SIGINT) }
	if reason := spawn(t, r, []string{"sleep", "30"}, nil, ""); !errors.As(reason, &pt) || pt.Signal != syscall.SIGINT {
		t.Errorf("ended with %v", reason)
	}
}
