//go:build !linux

package internet

// sysOutput returns zeros: only Linux tells what the kernel holds and
// what the peer acknowledged, so the queue's own counts are all there is
// elsewhere.
func sysOutput(int) (unsent int, acked uint64) { return 0, 0 }
