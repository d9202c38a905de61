//go:build unix

package twistd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// daemonEnv marks the re-executed child of daemon mode; its value is the
// number of the descriptor of the pipe on which it reports its start.
const daemonEnv = "TWISTD_DAEMON_CHILD"

// daemonize runs this program again with the same arguments as a daemon:
// in a new session (so that it has no controlling terminal and survives the
// parent's session), with its standard streams on /dev/null. Go cannot fork
// a running process safely, so re-executing is its fork. It waits for the
// child to report on a pipe that it has started, and returns nil then, or the
// error that the child reported or that made it exit without reporting.
func daemonize(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(exe, args...)
	// ExtraFiles[0] is descriptor 3 in the child.
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return err
	}
	// The child lives on: it is reparented to init once we exit.
	defer cmd.Process.Release()
	msg, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg = bytes.TrimSpace(msg)
	switch {
	case string(msg) == readyOK:
		return nil
	case len(msg) == 0:
		return fmt.Errorf("the daemon (pid %d) exited before it started; see its log", cmd.Process.Pid)
	}
	return fmt.Errorf("%s", msg)
}

// daemonChild returns the pipe on which a daemon child reports its start, or
// nil if this process is not one. It clears the marker so that programs the
// daemon runs do not take themselves for daemon children.
func daemonChild() *os.File {
	if _, ok := os.LookupEnv(daemonEnv); !ok {
		return nil
	}
	os.Unsetenv(daemonEnv)
	return os.NewFile(3, "twistd-ready")
}
