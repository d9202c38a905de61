//go:build unix && !(darwin || linux || openbsd)

// The socket reads and writes of the unix systems where x/sys has no
// writev: it is emulated with successive writes.

package internet

import "golang.org/x/sys/unix"

func read(fd int, b []byte) (int, error)  { return unix.Read(fd, b) }
func write(fd int, b []byte) (int, error) { return unix.Write(fd, b) }

// writev writes the buffers one write at a time where x/sys has no Writev,
// stopping at the first short write.
func writev(fd int, bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		n, err := unix.Write(fd, b)
		if n > 0 {
			total += n
		}
		if err != nil {
			if total > 0 {
				return total, nil
			}
			return 0, err
		}
		if n < len(b) {
			break
		}
	}
	return total, nil
}
