//go:build !unix

package twistd

import (
	"errors"
	"os"
	"runtime"
)

// daemonize fails: there are no sessions to detach into here.
func daemonize(args []string) error {
	return errors.New("daemon mode is not supported on " + runtime.GOOS + "; run with -n")
}

// daemonChild returns nil: no process is a daemon child here.
func daemonChild() *os.File { return nil }
