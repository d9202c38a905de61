//go:build !unix

package twistd

import (
	"errors"
	"runtime"
)

// setUmask fails: there is no umask here.
func setUmask(int) error { return errors.New("--umask is not supported on " + runtime.GOOS) }
