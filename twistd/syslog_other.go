//go:build !unix

package twistd

import (
	"errors"
	"io"
	"runtime"
)

// openSyslog fails: there is no syslog here.
func openSyslog(prefix string) (io.WriteCloser, error) {
	return nil, errors.New("--syslog is not supported on " + runtime.GOOS)
}
