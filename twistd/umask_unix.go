//go:build unix

package twistd

import "syscall"

// setUmask sets the process's file creation mask.
func setUmask(mask int) error {
	syscall.Umask(mask)
	return nil
}
