package internet

import (
	"syscall"
	"unsafe"
)

// The socket reads and writes are raw system calls on Linux: on a
// non-blocking socket they never block, so the runtime need not be told
// of them (entersyscall and exitsyscall), which cost more user CPU than
// the rest of an echo; measured with internal/echoload.

var zeroByte byte

func bufPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return unsafe.Pointer(&zeroByte)
	}
	return unsafe.Pointer(&b[0])
}

func read(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(bufPtr(b)), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func write(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(bufPtr(b)), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func writev(fd int, bufs [][]byte) (int, error) {
	var iov [maxIovecs]syscall.Iovec
	for i, b := range bufs {
		iov[i].Base = (*byte)(bufPtr(b))
		iov[i].SetLen(len(b))
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(bufs)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
