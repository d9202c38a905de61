//go:build unix

package process

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// recorder records what a child does, and fires ended with the reason.
type recorder struct {
	BaseProcessProtocol
	out, err []byte
	events   []string
	exited   error
	ended    *deferred.Deferred
	onMade   func(r *recorder)
	onOut    func(r *recorder, b []byte)
}

func newRecorder() *recorder { return &recorder{ended: deferred.New()} }

func (r *recorder) ConnectionMade(t Transport) {
	r.BaseProcessProtocol.ConnectionMade(t)
	if r.onMade != nil {
		r.onMade(r)
	}
}

func (r *recorder) OutReceived(b []byte) {
	r.out = append(r.out, b...)
	if r.onOut != nil {
		r.onOut(r, b)
	}
}
func (r *recorder) ErrReceived(b []byte)    { r.err = append(r.err, b...) }
func (r *recorder) InConnectionLost()       { r.events = append(r.events, "in") }
func (r *recorder) OutConnectionLost()      { r.events = append(r.events, "out") }
func (r *recorder) ErrConnectionLost()      { r.events = append(r.events, "err") }
func (r *recorder) ProcessExited(err error) { r.events = append(r.events, "exited"); r.exited = err }
func (r *recorder) ProcessEnded(reason error) {
	r.events = append(r.events, "ended")
	r.ended.Callback(reason)
}

// spawn runs argv with r on a new loop until it has ended, and returns the
// reason.
func spawn(t *testing.T, r *recorder, argv, env []string, dir string) error {
	t.Helper()
	reason := twisttest.Run(t, func(loop *reactor.Reactor) *deferred.Deferred {
		if _, err := SpawnProcess(loop, r, argv, env, dir); err != nil {
			return deferred.Fail(err)
		}
		return r.ended
	})
	err, _ := reason.(error)
	return err
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   error
	}{
		{"echo out; echo err >&2", ErrProcessDone},
		{"exit 3", &ProcessTerminated{ExitCode: 3}},
		{"kill -KILL $$", &ProcessTerminated{ExitCode: -1, Signal: syscall.SIGKILL}},
	} {
		r := newRecorder()
		reason := spawn(t, r, []string{"/bin/sh", "-c", tc.script}, nil, "")
		if pt, ok := tc.want.(*ProcessTerminated); ok {
			var got *ProcessTerminated
			if !errors.As(reason, &got) || *got != *pt || !errors.Is(reason, internet.ErrConnectionLost) {
				t.Errorf("%q ended with %v, want %v", tc.script, reason, tc.want)
			}
		} else if reason != tc.want || !errors.Is(reason, internet.ErrConnectionDone) {
			t.Errorf("%q ended with %v, want %v", tc.script, reason, tc.want)
		}
		if r.exited != reason {
			t.Errorf("%q: ProcessExited got %v, ProcessEnded %v", tc.script, r.exited, reason)
		}
		// ProcessEnded comes last, after the three pipes are closed.
		if len(r.events) != 5 || r.events[4] != "ended" || !slices.Contains(r.events, "in") ||
			!slices.Contains(r.events, "out") || !slices.Contains(r.events, "err") || !slices.Contains(r.events, "exited") {
			t.Errorf("%q: events %v", tc.script, r.events)
		}
		if tc.want == ErrProcessDone && (string(r.out) != "out\n" || string(r.err) != "err\n") {
			t.Errorf("out %q err %q", r.out, r.err)
		}
	}
}

func TestTerminatedMessages(t *testing.T) {
	for _, tc := range []struct {
		err  *ProcessTerminated
		want string
	}{
		{&ProcessTerminated{ExitCode: 3}, "process: the process exited with status 3"},
		{&ProcessTerminated{ExitCode: -1, Signal: syscall.SIGKILL}, "process: the process was killed by signal 9 (killed)"},
		{&ProcessTerminated{ExitCode: -1, Signal: syscall.SIGABRT, CoreDumped: true}, "process: the process was killed by signal 6 (aborted, core dumped)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

func TestSignalProcess(t *testing.T) {
	r := newRecorder()
	var tr Transport
	r.onMade = func(r *recorder) {
		tr = r.Transport
		if err := r.Transport.SignalProcess(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
	}
	reason := spawn(t, r, []string{"sleep", "30"}, nil, "")
	var pt *ProcessTerminated
	if !errors.As(reason, &pt) || pt.Signal != syscall.SIGTERM {
		t.Fatalf("ended with %v", reason)
	}
	if err := tr.SignalProcess(syscall.SIGTERM); err != ErrProcessExitedAlready {
		t.Errorf("signal after the end: %v", err)
	}
}

func TestCatEchoesStdin(t *testing.T) {
	r := newRecorder()
	r.onMade = func(r *recorder) {
		if n, err := r.Transport.Write([]byte("hello, ")); n != 7 || err != nil {
			t.Errorf("Write = %d, %v", n, err)
		}
		_, _ = r.Transport.Write([]byte("cat"))
		r.Transport.CloseStdin()
		if _, err := r.Transport.Write([]byte("late")); err != ErrStdinClosed {
			t.Errorf("Write after CloseStdin: %v", err)
		}
	}
	if reason := spawn(t, r, []string{"cat"}, nil, ""); reason != ErrProcessDone {
		t.Fatal(reason)
	}
	if string(r.out) != "hello, cat" {
		t.Errorf("out %q", r.out)
	}
}

// pushProducer records pauses and resumes, and calls onResume.
type pushProducer struct {
	pauses, resumes int
	onResume        func()
}

func (p *pushProducer) PauseProducing() { p.pauses++ }
func (p *pushProducer) ResumeProducing() {
	p.resumes++
	p.onResume()
}
func (p *pushProducer) StopProducing() {}

// TestLargeOutputWithBackPressure writes 4 MiB through cat while reading
// its output paused and resumed in turn: the stdin queue pauses the
// producer while cat is held back, and everything arrives in order.
func TestLargeOutputWithBackPressure(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10)
	prod := &pushProducer{}
	r := newRecorder()
	var loop *reactor.Reactor
	r.onMade = func(r *recorder) {
		if err := r.Transport.RegisterProducer(prod, true); err != nil {
			t.Error(err)
		}
		r.Transport.PauseProducing() // cat's output waits in the pipe
		if n, err := r.Transport.Write(data); n != len(data) || err != nil {
			t.Errorf("Write = %d, %v", n, err)
		}
		if prod.pauses != 1 {
			t.Errorf("%d pauses with %d bytes queued", prod.pauses, len(data))
		}
		// Resumed once the queue has drained, the producer has no more.
		prod.onResume = r.Transport.CloseStdin
		loop.CallLater(0, r.Transport.ResumeProducing)
	}
	// Each read pauses the output until the next turn of the loop.
	r.onOut = func(r *recorder, _ []byte) {
		r.Transport.PauseProducing()
		loop.CallLater(0, r.Transport.ResumeProducing)
	}
	reason := twisttest.Run(t, func(l *reactor.Reactor) *deferred.Deferred {
		loop = l
		if _, err := SpawnProcess(l, r, []string{"cat"}, nil, ""); err != nil {
			return deferred.Fail(err)
		}
		return r.ended
	})
	if reason != ErrProcessDone {
		t.Fatal(reason)
	}
	if !bytes.Equal(r.out, data) {
		t.Errorf("got %d bytes back, want %d, equal %v", len(r.out), len(data), bytes.Equal(r.out, data))
	}
	if prod.resumes != 1 {
		t.Errorf("%d resumes", prod.resumes)
	}
}

func TestEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	r := newRecorder()
	if reason := spawn(t, r, []string{"/bin/sh", "-c", `echo "$GREETING"; pwd; echo "${HOME-unset}"`}, []string{"GREETING=hi"}, dir); reason != ErrProcessDone {
		t.Fatal(reason)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got, want := string(r.out), "hi\n"+real+"\nunset\n"; got != want {
		t.Errorf("out %q, want %q", got, want)
	}
	// A nil environment is this process's.
	t.Setenv("TWIST_PROCESS_TEST", "inherited")
	r = newRecorder()
	spawn(t, r, []string{"/bin/sh", "-c", `echo "$TWIST_PROCESS_TEST"`}, nil, "")
	if string(r.out) != "inherited\n" {
		t.Errorf("out %q", r.out)
	}
}

func TestSpawnErrors(t *testing.T) {
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	for _, tc := range []struct {
		argv []string
		dir  string
		want string
	}{
		{nil, "", "argv is empty"},
		{[]string{"twist-no-such-program"}, "", `cannot start "twist-no-such-program": exec: "twist-no-such-program": executable file not found`},
		{[]string{"/nonexistent/prog"}, "", `cannot start "/nonexistent/prog": no such file or directory`},
		{[]string{"/bin/sh"}, "/nonexistent/dir", "no such file or directory"},
	} {
		_, err := SpawnProcess(loop, newRecorder(), tc.argv, nil, tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v in %q: %v, want %q", tc.argv, tc.dir, err, tc.want)
		}
	}
	if fds, _ := os.ReadDir("/proc/self/fd"); len(fds) > 64 {
		t.Errorf("%d descriptors open: pipes leak", len(fds))
	}
}

// TestChildClosingStdin checks that the parent hears when the child closes
// its standard input, while it runs: the pipe's write end becomes readable.
func TestChildClosingStdin(t *testing.T) {
	r := newRecorder()
	var tr Transport
	r.onMade = func(r *recorder) { tr = r.Transport }
	in := &stdinWatcher{recorder: r}
	reason := twisttest.Run(t, func(loop *reactor.Reactor) *deferred.Deferred {
		if _, err := SpawnProcess(loop, in, sh("exec 0<&-; exec sleep 30"), nil, ""); err != nil {
			return deferred.Fail(err)
		}
		return r.ended
	})
	var pt *ProcessTerminated
	if err, _ := reason.(error); !errors.As(err, &pt) || pt.Signal != syscall.SIGKILL {
		t.Fatalf("ended with %v, events %v", reason, r.events)
	}
	if _, err := tr.Write([]byte("x")); err != ErrStdinClosed {
		t.Errorf("Write after the child closed stdin: %v", err)
	}
}

// stdinWatcher kills the child once its stdin is closed.
type stdinWatcher struct{ *recorder }

func (w *stdinWatcher) InConnectionLost() {
	w.recorder.InConnectionLost()
	_ = w.Transport.SignalProcess(syscall.SIGKILL)
}
