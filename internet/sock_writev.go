//go:build darwin || openbsd

package internet

import "golang.org/x/sys/unix"

func read(fd int, b []byte) (int, error)        { return unix.Read(fd, b) }
func write(fd int, b []byte) (int, error)       { return unix.Write(fd, b) }
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }
