package internet

import (
	"os"

	"golang.org/x/sys/unix"
)

// reusePortBalances is true where SO_REUSEPORT spreads the connections of
// one address across several listening sockets (Linux 3.9 on), which lets
// a loop group have a listening socket per loop.
const reusePortBalances = true

func setReusePort(fd int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
}
