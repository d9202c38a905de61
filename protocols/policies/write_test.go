package policies

import (
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/internal/testlog"
	"github.com/twistgo/twist/task"
	"github.com/twistgo/twist/twisttest"
)

// queueTransport is a fake transport whose socket takes nothing: every
// byte written waits in its queue until the test drains it, as a peer
// reading would.
type queueTransport struct {
	twisttest.StringTransport
	queued  int
	flushed uint64
	kernel  int // output pending in the kernel's buffer, not in the queue
}

func (q *queueTransport) Write(b []byte) (int, error) {
	n, err := q.StringTransport.Write(b)
	q.queued += n
	return n, err
}

func (q *queueTransport) QueuedOutput() int { return q.queued }
func (q *queueTransport) OutputProgress() (int, uint64) {
	return q.queued + q.kernel, q.flushed
}

// drain has the peer read n queued bytes.
func (q *queueTransport) drain(n int) {
	n = min(n, q.queued)
	q.queued -= n
	q.flushed += uint64(n)
}

// advance moves clk on by d a second at a time: task.Clock runs every
// call due within one Advance at its end, so a long jump would show the
// watch a later time than the one it was due at.
func advance(clk *task.Clock, d time.Duration) {
	for ; d > 0; d -= time.Second {
		clk.Advance(min(d, time.Second))
	}
}

// startQueued connects a recorder behind the policy f makes, over a
// queueTransport, and writes 1 MiB that waits in its queue.
func startQueued(t *testing.T, wrap func(*recorder) *WrappingFactory) (*recorder, *queueTransport) {
	t.Helper()
	inner := &recorder{}
	tr := &queueTransport{}
	wrap(inner).BuildProtocol(peerA).ConnectionMade(tr)
	if _, err := inner.Transport.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	return inner, tr
}

// A peer that reads its answers slowly is not idle, however long it takes:
// the kernel taking queued output is activity, with or without a write
// time-out. Once it has read everything, the idle time-out runs as before.
func TestTimeoutSlowReaderIsNotIdle(t *testing.T) {
	for _, write := range []time.Duration{0, 5 * time.Minute} {
		clk := twisttest.NewClock()
		_, tr := startQueued(t, func(r *recorder) *WrappingFactory {
			return Timeout(factoryOf(r), TimeoutConfig{Idle: time.Minute, Write: write, Clock: clk})
		})
		for range 20 { // ten minutes, reading 32 KiB every 30 s
			advance(clk, 30*time.Second)
			tr.drain(32 << 10)
		}
		if tr.Disconnecting() || tr.Aborted() {
			t.Fatalf("write time-out %v: a reader that kept reading was closed", write)
		}
		tr.drain(1 << 20)
		advance(clk, time.Minute+15*time.Second) // the watch sees the last progress a quarter later at most
		if !tr.Disconnecting() || tr.Aborted() {
			t.Errorf("write time-out %v: idle a minute after reading all: disconnecting %v, aborted %v; want a clean close",
				write, tr.Disconnecting(), tr.Aborted())
		}
	}
}

// A reader that stops for longer than the idle time-out, but less than the
// write time-out, loses nothing: the connection stays open, whether or not
// a request is pending meanwhile.
func TestTimeoutPauseShorterThanWriteTimeoutLosesNothing(t *testing.T) {
	for _, pending := range []int{0, 1} {
		clk := twisttest.NewClock()
		inner := &stateful{}
		inner.pending = pending
		tr := &queueTransport{}
		Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Write: 5 * time.Minute, Clock: clk}).BuildProtocol(peerA).ConnectionMade(tr)
		inner.Transport.Write(make([]byte, 1<<20))
		advance(clk, 4*time.Minute+59*time.Second)
		if tr.Disconnecting() || tr.Aborted() {
			t.Fatalf("pending %d: closed before the write time-out", pending)
		}
		tr.drain(1 << 20)
		advance(clk, time.Minute+15*time.Second)
		// Once nothing is pending, the idle time-out closes it cleanly.
		if tr.Aborted() || tr.Disconnecting() != (pending == 0) {
			t.Errorf("pending %d: a minute after reading all: disconnecting %v, aborted %v", pending, tr.Disconnecting(), tr.Aborted())
		}
	}
}

// A reader that stops for longer than the write time-out is aborted with a
// logged reason, through the wrappers around the time-out, and even while a
// request is pending: between the time-out and 1¼ of it after its output
// last moved.
func TestTimeoutWriteAbortsAStalledReader(t *testing.T) {
	log := testlog.CaptureDefault(t)
	clk := twisttest.NewClock()
	inner := &stateful{}
	inner.pending = 1
	tr := &queueTransport{}
	f := LimitTotalConnections(Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Write: 2 * time.Minute, Clock: clk}), 10)
	f.BuildProtocol(peerA).ConnectionMade(tr)
	inner.Transport.Write(make([]byte, 1<<20))
	advance(clk, 90*time.Second)
	tr.drain(1000) // progress: the time-out runs from here
	advance(clk, 2*time.Minute)
	if tr.Aborted() {
		t.Fatal("aborted less than the write time-out after the output last moved")
	}
	advance(clk, time.Minute)
	if !tr.Aborted() {
		t.Fatal("not aborted 1½ write time-outs after the output last moved")
	}
	if got := log.String(); !strings.Contains(got, "aborting the connection from 192.168.1.1:54321: it read nothing for 2m0s, 1047576 bytes unread (write time-out)") {
		t.Errorf("the log says %q", got)
	}
	if len(clk.DelayedCalls()) != 0 {
		t.Errorf("timers left after the abort: %v", clk.DelayedCalls())
	}
}

// A connection with nothing queued times out when idle, write time-out or
// not.
func TestTimeoutIdleWithNothingQueued(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &recorder{}
	tr := &queueTransport{}
	Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Write: 5 * time.Minute, Clock: clk}).BuildProtocol(peerA).ConnectionMade(tr)
	inner.Transport.Write([]byte("answer"))
	tr.drain(6) // the peer read it
	advance(clk, time.Minute+15*time.Second)
	if !tr.Disconnecting() || tr.Aborted() {
		t.Errorf("disconnecting %v, aborted %v; want an idle close", tr.Disconnecting(), tr.Aborted())
	}
}

// Output pending only where a write did not queue it (the kernel's
// buffer, or behind a pull producer waiting for the socket) is watched
// from the idle time-out's expiry: a peer that takes none of it is
// aborted up to Idle + 1¼ Write after it stopped.
func TestTimeoutWriteWatchesOutputPendingInTheKernel(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &stateful{}
	inner.pending = 1 // a response being produced: busy, not idle
	tr := &queueTransport{kernel: 2 << 20}
	Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Write: 2 * time.Minute, Clock: clk}).BuildProtocol(peerA).ConnectionMade(tr)
	advance(clk, 2*time.Minute+59*time.Second)
	if tr.Aborted() {
		t.Fatal("aborted less than the write time-out after the watch began at the idle time-out")
	}
	advance(clk, 30*time.Second)
	if !tr.Aborted() {
		t.Fatal("not aborted Idle + 1¼ Write after the peer stopped taking its output")
	}
}
