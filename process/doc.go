// Package process runs child processes on a loop (Twisted's
// reactor.spawnProcess and twisted.internet.utils): SpawnProcess starts a
// child and tells a ProcessProtocol what it writes and how it ends;
// GetProcessOutput, GetProcessOutputAndValue and GetProcessValue run one
// and give a Deferred of its output or exit status.
//
// The child's standard input, output and error are pipes watched by the
// loop, non-blocking, with no goroutine per pipe. On Linux the child is
// also watched through a pidfd (clone3's CLONE_PIDFD), which becomes
// readable when it exits; the loop then reaps exactly that child with
// wait4, so nothing here handles SIGCHLD or waits for any child but its
// own, and other users of SIGCHLD and wait (os/exec, a shell library) are
// not raced. Where the kernel gives no pidfd (Linux before 5.4, macOS, the
// BSDs), one goroutine per child blocks in wait4 for that pid only and
// brings the status back with CallFromThread.
//
// Child processes are supported on Unix systems only: elsewhere
// SpawnProcess fails with ErrNotSupported.
package process
