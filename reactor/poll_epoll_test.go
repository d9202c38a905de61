//go:build linux

package reactor

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// After a wait that returned events, the poller first looks without
// blocking; looks that find nothing cost credit, and without credit it
// blocks at once until a blocking wait has returned events again.
func TestEpollLooksFirstOnlyWhileLookingPays(t *testing.T) {
	var p poller
	if err := p.init(); err != nil {
		t.Fatal(err)
	}
	defer p.close()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := p.control(fds[0], 0, readable); err != nil {
		t.Fatal(err)
	}
	ready := func() {
		if _, err := unix.Write(fds[1], []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	drain := func() {
		var b [16]byte
		_, _ = unix.Read(fds[0], b[:])
	}
	steps := []struct {
		name    string
		before  func()
		timeout time.Duration
		events  int
		busy    bool
		credit  int8
	}{
		{"blocking wait, readable", ready, -1, 1, true, 0},
		{"look finds it still readable", nil, -1, 1, true, 1},
		{"look finds nothing, then a short wait", drain, time.Millisecond, 0, false, -1},
		{"not busy: blocks, returns events, earns credit back", ready, -1, 1, true, 0},
		{"look finds nothing again", drain, time.Millisecond, 0, false, -2},
		{"blocking wait with events", ready, -1, 1, true, -1},
		{"no credit: no look, a blocking wait", nil, -1, 1, true, 0},
		{"a wait that cannot block leaves credit alone", drain, 0, 0, false, 0},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		n, err := p.wait(s.timeout)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if n != s.events || p.busy != s.busy || p.credit != s.credit {
			t.Errorf("%s: %d events, busy %v, credit %d; want %d, %v, %d", s.name, n, p.busy, p.credit, s.events, s.busy, s.credit)
		}
	}
}
