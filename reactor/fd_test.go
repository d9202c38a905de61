//go:build unix

package reactor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/twistgo/twist/deferred"
)

// The tests in this file check file descriptor watching with pipes and
// socket pairs.

// testFD is a FileDescriptor whose handlers are functions.
type testFD struct {
	fd      int
	read    func()
	write   func()
	lost    []error
	onLost  func(error)
	reads   int
	writes  int
	removed bool
}

func (f *testFD) Fd() int { return f.fd }
func (f *testFD) DoRead() {
	f.reads++
	if f.read != nil {
		f.read()
	}
}
func (f *testFD) DoWrite() {
	f.writes++
	if f.write != nil {
		f.write()
	}
}
func (f *testFD) ConnectionLost(err error) {
	f.lost = append(f.lost, err)
	if f.onLost != nil {
		f.onLost(err)
	}
}

func pipe(t *testing.T) (rd, wr int) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
	}
	return fds[0], fds[1]
}

func write(t *testing.T, fd int, s string) {
	t.Helper()
	if _, err := unix.Write(fd, []byte(s)); err != nil {
		t.Error(err) // not Fatal: also called from other goroutines
	}
}

func TestReadable(t *testing.T) {
	r, _ := newReactor(t)
	rd, wr := pipe(t)
	var got []byte
	f := &testFD{fd: rd}
	f.read = func() {
		buf := r.ReadBuffer()
		if len(buf) != 64<<10 {
			t.Errorf("ReadBuffer has %d bytes, want 64 KiB", len(buf))
		}
		n, err := unix.Read(rd, buf)
		if err != nil {
			t.Errorf("read: %v", err)
			return
		}
		got = append(got, buf[:n]...)
		if string(got) == "hello" {
			if err := r.RemoveReader(f); err != nil {
				t.Error(err)
			}
			stop(t, r)
		}
	}
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	// Written while the loop sleeps: readiness wakes it.
	go func() {
		waitAsleep(r)
		write(t, wr, "hello")
	}()
	run(t, r)
	if string(got) != "hello" {
		t.Fatalf("read %q", got)
	}
}

// TestLevelTriggered checks that a reader that leaves data unread is called
// again, and that RemoveReader stops the calls although data remains.
func TestLevelTriggered(t *testing.T) {
	r, _ := newReactor(t)
	rd, wr := pipe(t)
	write(t, wr, "unread")
	f := &testFD{fd: rd}
	f.read = func() {
		if f.reads == 3 {
			if err := r.RemoveReader(f); err != nil {
				t.Error(err)
			}
			// Let the loop poll a few more times before stopping.
			r.CallLater(0, func() { r.CallLater(0, func() { stop(t, r) }) })
		}
	}
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	if f.reads != 3 {
		t.Fatalf("DoRead called %d times, want 3", f.reads)
	}
}

func TestWritable(t *testing.T) {
	r, _ := newReactor(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	f := &testFD{fd: fds[0]}
	f.write = func() {
		if _, err := unix.Write(fds[0], []byte("x")); err != nil {
			t.Error(err)
		}
		if err := r.RemoveWriter(f); err != nil {
			t.Error(err)
		}
		r.CallLater(0, func() { r.CallLater(0, func() { stop(t, r) }) })
	}
	if err := r.AddWriter(f); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	if f.writes != 1 || f.reads != 0 {
		t.Fatalf("DoWrite called %d times and DoRead %d, want 1 and 0", f.writes, f.reads)
	}
}

// TestReadAndWrite watches one socket for both, then for reading only.
func TestReadAndWrite(t *testing.T) {
	r, _ := newReactor(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	write(t, fds[1], "ping")
	f := &testFD{fd: fds[0]}
	f.write = func() {
		if err := r.RemoveWriter(f); err != nil {
			t.Error(err)
		}
	}
	f.read = func() {
		if _, err := unix.Read(fds[0], r.ReadBuffer()); err != nil {
			t.Error(err)
		}
		if err := r.RemoveReader(f); err != nil {
			t.Error(err)
		}
		r.CallLater(0, func() { stop(t, r) })
	}
	for _, add := range []func(FileDescriptor) error{r.AddReader, r.AddWriter, r.AddReader, r.AddWriter} {
		if err := add(f); err != nil { // adding twice is a no-op
			t.Fatal(err)
		}
	}
	run(t, r)
	if f.reads != 1 || f.writes != 1 {
		t.Fatalf("DoRead called %d times and DoWrite %d, want 1 and 1", f.reads, f.writes)
	}
}

func TestHangUpIsReadable(t *testing.T) {
	r, _ := newReactor(t)
	rd, wr := pipe(t)
	f := &testFD{fd: rd}
	f.read = func() {
		n, err := unix.Read(rd, r.ReadBuffer())
		if n != 0 || err != nil {
			t.Errorf("read after hang-up = %d, %v; want end of file", n, err)
		}
		if err := r.RemoveReader(f); err != nil {
			t.Error(err)
		}
		stop(t, r)
	}
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	unix.Close(wr)
	run(t, r)
}

func TestRemoveUnwatched(t *testing.T) {
	r, _ := newReactor(t)
	rd, _ := pipe(t)
	f := &testFD{fd: rd}
	for _, remove := range []func(FileDescriptor) error{r.RemoveReader, r.RemoveWriter} {
		if err := remove(f); err != nil {
			t.Fatalf("removing an unwatched descriptor: %v", err)
		}
	}
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveWriter(f); err != nil {
		t.Fatalf("removing the writer of a reader: %v", err)
	}
	if err := r.RemoveReader(&testFD{fd: rd}); err != nil {
		t.Fatalf("removing another descriptor with the same number: %v", err)
	}
	if all := r.RemoveAll(); len(all) != 1 || all[0] != f {
		t.Fatalf("RemoveAll = %v, want the reader", all)
	}
	if all := r.RemoveAll(); len(all) != 0 {
		t.Fatalf("second RemoveAll = %v, want none", all)
	}
}

func TestAddInvalidFd(t *testing.T) {
	r, _ := newReactor(t)
	if err := r.AddReader(&testFD{fd: -1}); err == nil {
		t.Fatal("AddReader of fd -1 succeeded")
	}
}

// TestStaleDescriptorReplaced: a descriptor closed without being removed
// leaves a stale entry; a new descriptor with the same number replaces it.
func TestStaleDescriptorReplaced(t *testing.T) {
	r, _ := newReactor(t)
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	stale := &testFD{fd: p[0]}
	if err := r.AddReader(stale); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	rd, wr := pipe(t) // reuses the numbers
	if rd != p[0] {
		t.Skipf("the system did not reuse descriptor %d", p[0])
	}
	fresh := &testFD{fd: rd}
	fresh.read = func() {
		if err := r.RemoveReader(fresh); err != nil {
			t.Error(err)
		}
		stop(t, r)
	}
	if err := r.AddReader(fresh); err != nil {
		t.Fatal(err)
	}
	write(t, wr, "x")
	run(t, r)
	if stale.reads != 0 || fresh.reads != 1 {
		t.Fatalf("stale reads %d, fresh reads %d; want 0 and 1", stale.reads, fresh.reads)
	}
}

func TestPanicInHandlerDisconnects(t *testing.T) {
	r, logs := newReactor(t)
	rd, wr := pipe(t)
	write(t, wr, "x")
	f := &testFD{fd: rd, read: func() { panic("bad handler") }}
	f.onLost = func(error) { r.CallLater(0, func() { stop(t, r) }) }
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	if f.reads != 1 {
		t.Fatalf("DoRead called %d times after panicking, want 1", f.reads)
	}
	var pe *deferred.PanicError
	if len(f.lost) != 1 || !errors.As(f.lost[0], &pe) || pe.Value != "bad handler" {
		t.Fatalf("ConnectionLost reasons = %v, want the panic", f.lost)
	}
	if msgs := logs.messages(); !slices.Equal(msgs, []string{"reactor: panic in file descriptor handler"}) {
		t.Fatalf("logged %q", msgs)
	}
	if stack := logs.attr(0, "stack"); !strings.Contains(stack, "TestPanicInHandlerDisconnects") {
		t.Errorf("logged stack does not show the handler:\n%s", stack)
	}
}

// TestShutdownDisconnectsCleanly ports Twisted's test of the same name: a
// ConnectionLost that panics does not keep the others from being called.
func TestShutdownDisconnectsCleanly(t *testing.T) {
	r, logs := newReactor(t)
	rd1, _ := pipe(t)
	rd2, _ := pipe(t)
	bad := &testFD{fd: min(rd1, rd2), onLost: func(error) { panic("simulated connectionLost error") }}
	good := &testFD{fd: max(rd1, rd2)}
	for _, f := range []*testFD{bad, good} {
		if err := r.AddReader(f); err != nil {
			t.Fatal(err)
		}
	}
	r.CallWhenRunning(func() { stop(t, r) })
	run(t, r)
	if len(good.lost) != 1 || !errors.Is(good.lost[0], ErrConnectionLost) {
		t.Fatalf("ConnectionLost reasons = %v, want ErrConnectionLost", good.lost)
	}
	if msgs := logs.messages(); !slices.Equal(msgs, []string{"reactor: panic in ConnectionLost"}) {
		t.Fatalf("logged %q", msgs)
	}
}

// TestDispatchDoesNotAllocate checks the per-event path: a wait that
// dispatches a ready descriptor allocates nothing.
func TestDispatchDoesNotAllocate(t *testing.T) {
	r, _ := newReactor(t)
	rd, wr := pipe(t)
	write(t, wr, "x")
	f := &testFD{fd: rd}
	if err := r.AddReader(f); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		n, err := r.p.wait(0)
		if err != nil {
			t.Fatal(err)
		}
		r.dispatch(n)
	})
	if allocs != 0 {
		t.Fatalf("a dispatching wait allocated %v times", allocs)
	}
	if f.reads < 100 {
		t.Fatalf("DoRead called %d times, want at least 100", f.reads)
	}
}

// TestPanicSparesTheOtherEventsOfTheWait checks that the one recover of a
// dispatch does not drop the events after the one whose handler panicked.
func TestPanicSparesTheOtherEventsOfTheWait(t *testing.T) {
	r, logs := newReactor(t)
	var fds [2]*testFD
	panicked := false
	for i := range fds {
		rd, wr := pipe(t)
		write(t, wr, "x")
		fds[i] = &testFD{fd: rd, read: func() {
			if !panicked {
				panicked = true
				panic("first handler")
			}
		}}
		if err := r.AddReader(fds[i]); err != nil {
			t.Fatal(err)
		}
	}
	n, err := r.p.wait(0)
	if err != nil || n != 2 {
		t.Fatalf("wait = %d, %v", n, err)
	}
	r.dispatch(n)
	if fds[0].reads != 1 || fds[1].reads != 1 {
		t.Fatalf("reads %d and %d, want 1 each", fds[0].reads, fds[1].reads)
	}
	if lost := len(fds[0].lost) + len(fds[1].lost); lost != 1 {
		t.Fatalf("%d descriptors lost, want the one that panicked", lost)
	}
	if msgs := logs.messages(); !slices.Equal(msgs, []string{"reactor: panic in file descriptor handler"}) {
		t.Fatalf("logged %q", msgs)
	}
}
