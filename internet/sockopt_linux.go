package internet

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// reusePortBalances is true where SO_REUSEPORT spreads the connections of
// one address across several listening sockets (Linux 3.9 on), which lets
// a loop group have a listening socket per loop.
const reusePortBalances = true

func setReusePort(fd int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
}

// maxBacklog reads the kernel's cap on listen queues, as Go's net package
// does; the kernel truncates a larger backlog to it anyway. Kernels before
// 4.1 kept the backlog in 16 bits, hence the bound.
func maxBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return unix.SOMAXCONN
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return unix.SOMAXCONN
	}
	return min(n, 1<<16-1)
}
