//go:build darwin || dragonfly || freebsd

package reactor

import (
	"os"

	"golang.org/x/sys/unix"
)

// waker wakes kqueue with an EVFILT_USER event: no descriptor, and EV_CLEAR
// resets it when it is reported.
type waker struct {
	trigger [1]unix.Kevent_t
}

const wakeIdent = 0

func (w *waker) init(kq int) error {
	add := []unix.Kevent_t{{Ident: wakeIdent, Filter: unix.EVFILT_USER, Flags: unix.EV_ADD | unix.EV_CLEAR}}
	if _, err := unix.Kevent(kq, add, nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	w.trigger[0] = unix.Kevent_t{Ident: wakeIdent, Filter: unix.EVFILT_USER, Fflags: unix.NOTE_TRIGGER}
	return nil
}

func (w *waker) close() {}

func (w *waker) wake(kq int) {
	_, _ = unix.Kevent(kq, w.trigger[:], nil, nil)
}

// woken reports whether ev is the wake-up event.
func (w *waker) woken(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_USER
}
