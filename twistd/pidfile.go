package twistd

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrAlreadyRunning is returned by WritePIDFile when the pid file names a
// process that is alive.
var ErrAlreadyRunning = errors.New("twistd: another twistd server is running")

// WritePIDFile records the current process's id in the file at path, as
// Twisted's checkPID and writePID do together. If the file exists and names
// a live process, it fails with ErrAlreadyRunning; a file naming a dead
// process, or holding no pid, is stale and replaced. The file is created
// exclusively, so that of two twistds starting at once one fails.
func WritePIDFile(path string) error {
	if pid, err := ReadPIDFile(path); err == nil {
		if processAlive(pid) {
			return fmt.Errorf("%w, PID %d: remove %s if it is not", ErrAlreadyRunning, pid, path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		// Unreadable or garbage: stale, unless we cannot remove it.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
	return errors.Join(err, f.Close())
}

// ReadPIDFile returns the process id recorded in the file at path.
func ReadPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("twistd: pid file %s holds no pid: %q", path, b)
	}
	return pid, nil
}

// RemovePIDFile removes the pid file at path if it records this process, so
// that a twistd never removes the file of another one that replaced it.
func RemovePIDFile(path string) error {
	pid, err := ReadPIDFile(path)
	if err != nil {
		return err
	}
	if pid != os.Getpid() {
		return fmt.Errorf("twistd: pid file %s records process %d, not this one", path, pid)
	}
	return os.Remove(path)
}
