//go:build !linux

package internet

// reusePortBalances is false: SO_REUSEPORT does not balance connections
// across sockets here (on the BSDs and macOS the last bound socket gets
// them all), so a loop group has one acceptor that hands connections out.
const reusePortBalances = false

func setReusePort(fd int) error { return errNotSupported }

// maxBacklog asks for the largest queue: the BSDs and macOS cut a larger
// backlog down to their own maximum (kern.ipc.somaxconn), as Linux does.
func maxBacklog() int { return 1<<16 - 1 }
