package internet

import "golang.org/x/sys/unix"

// sysBytesAcked returns how many bytes of output the peer of TCP socket fd
// has acknowledged, or 0 if fd is not one (a Unix socket) or the kernel
// does not say (before Linux 4.1).
func sysBytesAcked(fd int) uint64 {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0
	}
	return info.Bytes_acked
}
