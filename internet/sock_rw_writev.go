//go:build darwin || openbsd

// The socket reads and writes where x/sys has writev (the sock_rw files hold
// them per system: linux, these, and the other unix systems).

package internet

import "golang.org/x/sys/unix"

func read(fd int, b []byte) (int, error)        { return unix.Read(fd, b) }
func write(fd int, b []byte) (int, error)       { return unix.Write(fd, b) }
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }
