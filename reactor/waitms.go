//go:build linux || aix || solaris

package reactor

import (
	"math"
	"time"
)

// waitMillis converts a poller timeout to the milliseconds of epoll_wait and
// poll(2): -1 for ever, and rounded up so that a timer is never woken for
// early, which would cost a spin.
func waitMillis(timeout time.Duration) int {
	if timeout < 0 {
		return -1
	}
	ms := timeout / time.Millisecond
	if timeout%time.Millisecond != 0 {
		ms++
	}
	return int(min(ms, math.MaxInt32))
}
