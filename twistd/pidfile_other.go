//go:build !unix

package twistd

import "os"

// processAlive reports whether process pid exists. os.FindProcess opens a
// handle to it on Windows, which fails for a process that is gone.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
