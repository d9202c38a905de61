//go:build unix && !(dragonfly || freebsd || illumos || linux)

package internet

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// newSocket opens a non-blocking, close-on-exec stream socket. Without
// SOCK_CLOEXEC the flag is set with fcntl under syscall.ForkLock, as the
// standard library does, so that no fork inherits the socket in between.
func newSocket(family int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// sysAccept accepts a connection and makes it non-blocking and
// close-on-exec. It returns the raw errno, which the listener classifies.
func sysAccept(fd int) (int, net.Addr, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, nil, err
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, nil, syscall.ECONNABORTED
	}
	return nfd, fromSockaddr(sa), nil
}
