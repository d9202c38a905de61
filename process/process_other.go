//go:build !unix

package process

import "github.com/twistgo/twist/reactor"

// Process is a child process; there are none on this system.
type Process struct{}

// SpawnProcess fails with ErrNotSupported: child processes are supported on
// Unix systems only.
func SpawnProcess(loop *reactor.Reactor, proto ProcessProtocol, argv []string, env []string, dir string) (*Process, error) {
	return nil, ErrNotSupported
}
