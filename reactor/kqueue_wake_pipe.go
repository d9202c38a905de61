//go:build netbsd || openbsd

package reactor

import (
	"os"

	"golang.org/x/sys/unix"
)

// waker wakes kqueue through a pipe, for the systems whose kqueue has no
// EVFILT_USER.
type waker struct {
	wakePipe
}

func (w *waker) init(kq int) error {
	if err := w.wakePipe.init(); err != nil {
		return err
	}
	var add [1]unix.Kevent_t
	unix.SetKevent(&add[0], w.r, unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(kq, add[:], nil, nil); err != nil {
		w.wakePipe.close()
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

func (w *waker) wake(int) { w.wakePipe.wake() }

// woken reports whether ev is the wake-up pipe, and drains it if so.
func (w *waker) woken(ev *unix.Kevent_t) bool {
	if ev.Filter != unix.EVFILT_READ || int(ev.Ident) != w.r {
		return false
	}
	w.drain()
	return true
}
