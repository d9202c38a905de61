//go:build !linux

package internet

// sysBytesAcked returns 0: only Linux says how many bytes a peer has
// acknowledged, so the queue's own count is the progress elsewhere.
func sysBytesAcked(int) uint64 { return 0 }
