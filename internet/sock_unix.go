//go:build unix

package internet

import (
	"errors"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// This file is the socket layer the transports are written on: thin
// wrappers over the system calls, with addresses converted to and from the
// net package's types, so that conn.go, listen.go and connect.go build on
// every system (sock_other.go says "not supported" where this cannot work).

// maxIovecs bounds the buffers passed to one writev, well under IOV_MAX.
const maxIovecs = 64

// toSockaddr converts a *net.TCPAddr or *net.UnixAddr.
func toSockaddr(a net.Addr) (sa unix.Sockaddr, family int, err error) {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			if len(a.IP) != 0 {
				return nil, 0, errors.New("internet: invalid IP address " + a.IP.String())
			}
			ip = netip.IPv4Unspecified()
		}
		if ip.Is4() || ip.Is4In6() {
			return &unix.SockaddrInet4{Port: a.Port, Addr: ip.Unmap().As4()}, unix.AF_INET, nil
		}
		sa := &unix.SockaddrInet6{Port: a.Port, Addr: ip.As16()}
		if a.Zone != "" {
			ifi, err := net.InterfaceByName(a.Zone)
			if err != nil {
				return nil, 0, err
			}
			sa.ZoneId = uint32(ifi.Index)
		}
		return sa, unix.AF_INET6, nil
	case *net.UnixAddr:
		return &unix.SockaddrUnix{Name: a.Name}, unix.AF_UNIX, nil
	}
	return nil, 0, errors.New("internet: unsupported address type " + a.Network())
}

// fromSockaddr converts a socket address to a *net.TCPAddr or *net.UnixAddr.
func fromSockaddr(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}

// sysListen opens a listening socket bound to addr.
func sysListen(addr net.Addr, backlog int, reusePort bool) (fd int, bound net.Addr, err error) {
	sa, family, err := toSockaddr(addr)
	if err != nil {
		return -1, nil, err
	}
	fd, err = newSocket(family)
	if err != nil {
		return -1, nil, err
	}
	if family != unix.AF_UNIX {
		// Twisted sets SO_REUSEADDR on every listener so that a restarted
		// server can bind while old connections linger in TIME_WAIT.
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			unix.Close(fd)
			return -1, nil, os.NewSyscallError("setsockopt", err)
		}
		if reusePort {
			if err = setReusePort(fd); err != nil {
				unix.Close(fd)
				return -1, nil, err
			}
		}
	}
	if err = unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("bind", err)
	}
	if err = unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("listen", err)
	}
	return fd, sysLocalAddr(fd), nil
}

// sysConnect opens a socket and starts connecting it to remote, bound first
// to bind if that is not nil. A connection in progress is not an error: the
// socket becomes writable when it is done, and SO_ERROR tells how it went.
func sysConnect(remote, bind net.Addr) (int, error) {
	sa, family, err := toSockaddr(remote)
	if err != nil {
		return -1, err
	}
	fd, err := newSocket(family)
	if err != nil {
		return -1, err
	}
	if bind != nil {
		bsa, _, err := toSockaddr(bind)
		if err == nil {
			err = os.NewSyscallError("bind", unix.Bind(fd, bsa))
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	switch err := unix.Connect(fd, sa); err {
	case nil, unix.EINPROGRESS, unix.EINTR:
		return fd, nil
	default:
		unix.Close(fd)
		return -1, os.NewSyscallError("connect", err)
	}
}

// sysSocketError returns the pending error of fd (SO_ERROR), which tells
// how a non-blocking connect ended.
func sysSocketError(fd int) error {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if n != 0 {
		return os.NewSyscallError("connect", unix.Errno(n))
	}
	return nil
}

// sysRead reads into b; n == 0 with a nil error is the end of the stream.
func sysRead(fd int, b []byte) (int, error) {
	n, err := read(fd, b)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sysWrite writes b; it returns the raw errno, which the caller classifies.
func sysWrite(fd int, b []byte) (int, error) {
	n, err := write(fd, b)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sysWritev writes bufs with one system call where the system has writev.
func sysWritev(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	n, err := writev(fd, bufs)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sysClose closes fd; an unorderly close first sets SO_LINGER to zero so
// that the peer gets a reset rather than an end of stream, as Twisted does
// for an aborted connection.
func sysClose(fd int, orderly bool) {
	if !orderly {
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	_ = unix.Close(fd)
}

// sysShutdownWrite half-closes fd: the peer reads the end of the stream.
func sysShutdownWrite(fd int) error {
	return os.NewSyscallError("shutdown", unix.Shutdown(fd, unix.SHUT_WR))
}

func sysLocalAddr(fd int) net.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil
	}
	return fromSockaddr(sa)
}

// sysSetNoDelay sets TCP_NODELAY; it fails harmlessly on a Unix socket.
func sysSetNoDelay(fd int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, v))
}

// sysSetKeepAlive sets SO_KEEPALIVE.
func sysSetKeepAlive(fd int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, v))
}

// wouldBlock reports whether err means "try again when ready".
func wouldBlock(err error) bool {
	return err == unix.EAGAIN || err == unix.EWOULDBLOCK || err == unix.EINTR
}

// acceptSkippable reports whether an accept error concerns only the
// connection being accepted, or no connection: the listener goes on.
func acceptSkippable(err error) bool {
	switch err {
	case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED, unix.EPROTO, unix.EPERM:
		return true
	}
	return wouldBlock(err)
}

// acceptExhausted reports whether an accept error means the process or the
// system is out of descriptors or memory: the listener backs off.
func acceptExhausted(err error) bool {
	switch err {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		return true
	}
	return false
}

// isRefused reports whether a connect error is a refusal.
func isRefused(err error) bool {
	return errors.Is(err, unix.ECONNREFUSED)
}

// removeStaleSocket removes the socket file at path if no server answers
// on it, so that a server that died without cleaning up does not keep its
// successor from binding (Twisted checks a lock file; probing the socket
// needs none). A live socket, or a file that is not a socket, is left for
// bind to fail on.
func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return
	}
	fd, err := newSocket(unix.AF_UNIX)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	// Non-blocking: a live server with a full backlog answers EAGAIN.
	if unix.Connect(fd, &unix.SockaddrUnix{Name: path}) == unix.ECONNREFUSED {
		_ = os.Remove(path)
	}
}
