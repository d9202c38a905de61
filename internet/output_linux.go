package internet

import "golang.org/x/sys/unix"

// sysOutput returns how many bytes of output socket fd's kernel holds,
// unsent or not yet acknowledged (SIOCOUTQ), and for TCP how many bytes
// the peer has acknowledged (0 before Linux 4.1, or for a Unix socket).
func sysOutput(fd int) (unsent int, acked uint64) {
	if n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ); err == nil {
		unsent = n
	}
	if info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
		acked = info.Bytes_acked
	}
	return unsent, acked
}
