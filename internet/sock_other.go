//go:build !unix

package internet

import "net"

// Sockets on the reactor need a Unix poller: here every listen and connect
// fails with errNotSupported, and no socket is ever made, so the functions
// below that take a descriptor are never called.

func sysListen(addr net.Addr, backlog int, reusePort bool) (int, net.Addr, error) {
	return -1, nil, errNotSupported
}

func sysConnect(remote, bind net.Addr) (int, error) { return -1, errNotSupported }

func sysAccept(fd int) (int, net.Addr, error) { return -1, nil, errNotSupported }

func sysSocketError(fd int) error { return errNotSupported }

func sysRead(fd int, b []byte) (int, error) { return 0, errNotSupported }

func sysWrite(fd int, b []byte) (int, error) { return 0, errNotSupported }

func sysWritev(fd int, bufs [][]byte) (int, error) { return 0, errNotSupported }

func sysClose(fd int, orderly bool) {}

func sysShutdownWrite(fd int) error { return errNotSupported }

func sysLocalAddr(fd int) net.Addr { return nil }

func sysSetNoDelay(fd int, on bool) error { return errNotSupported }

func sysSetKeepAlive(fd int, on bool) error { return errNotSupported }

func wouldBlock(err error) bool { return false }

func acceptSkippable(err error) bool { return false }

func acceptExhausted(err error) bool { return false }

func isRefused(err error) bool { return false }

func removeStaleSocket(path string) {}
