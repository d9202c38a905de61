//go:build dragonfly || freebsd || illumos || linux

package internet

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// newSocket opens a non-blocking, close-on-exec stream socket in one call,
// so that no fork can inherit it in between.
func newSocket(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// sysAccept accepts a connection as a non-blocking, close-on-exec socket.
// It returns the raw errno, which the listener classifies.
func sysAccept(fd int) (int, net.Addr, error) {
	nfd, sa, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return -1, nil, err
	}
	return nfd, fromSockaddr(sa), nil
}
