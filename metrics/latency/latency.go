// Package latency counts durations in fixed buckets: the loop lag of a
// reactor and the call latency of an RPC function. Its histograms cost an
// array index and an add per observation, with no lock, no allocation and no
// clock read of their own, so that the core can keep them always on.
//
// Every histogram has the same buckets (Bounds), from 5µs to 10s in steps of
// 1, 2.5 and 5, which Prometheus exports as they are and which the status
// page diffs between two snapshots for rates and recent quantiles.
package latency

import (
	"math"
	"sync/atomic"
	"time"
)

// bounds are the buckets' inclusive upper bounds; the last bucket, past
// them, is unbounded.
var bounds = [...]time.Duration{
	5 * time.Microsecond, 10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// NumBuckets is the number of buckets: one per bound and one past the last.
const NumBuckets = len(bounds) + 1

// Bounds returns the buckets' inclusive upper bounds, ascending; the bucket
// past the last bound holds longer durations. The slice is a copy.
func Bounds() []time.Duration { return append([]time.Duration(nil), bounds[:]...) }

// Bucket returns the index of the bucket d falls in: the first whose bound
// is at least d, or NumBuckets-1.
func Bucket(d time.Duration) int {
	// A binary search over 20 bounds: five comparisons, no loop-carried
	// branch mispredictions to speak of on the usual short durations.
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bounds[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Counts is a histogram as plain values: what a single goroutine (a loop)
// keeps for itself with Observe, and what a Histogram's Snapshot returns.
// Its zero value is empty.
type Counts struct {
	// Buckets counts the durations per bucket (not cumulative): Buckets[i]
	// those in (Bounds()[i-1], Bounds()[i]].
	Buckets [NumBuckets]uint64
	// Sum is the total of the durations observed.
	Sum time.Duration
	// Max is the longest duration observed.
	Max time.Duration
}

// Observe counts d. It is not safe for concurrent use: a Counts belongs to
// one goroutine.
func (c *Counts) Observe(d time.Duration) {
	c.Buckets[Bucket(d)]++
	c.Sum += d
	if d > c.Max {
		c.Max = d
	}
}

// Count returns the number of durations counted.
func (c *Counts) Count() uint64 {
	var n uint64
	for _, b := range c.Buckets {
		n += b
	}
	return n
}

// Sub returns what was counted since prev, an earlier Counts of the same
// histogram: the counts of a window, for recent quantiles. Max stays the
// maximum since the start, the one figure a window cannot recover.
func (c *Counts) Sub(prev *Counts) Counts {
	d := Counts{Sum: c.Sum - prev.Sum, Max: c.Max}
	for i := range c.Buckets {
		d.Buckets[i] = c.Buckets[i] - prev.Buckets[i]
	}
	return d
}

// Quantile estimates the q-quantile (0 < q <= 1) of the durations counted,
// interpolating linearly inside the bucket it falls in, as Prometheus's
// histogram_quantile does; in the last, unbounded bucket it answers Max.
// It returns 0 when nothing was counted.
func (c *Counts) Quantile(q float64) time.Duration {
	n := c.Count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, b := range c.Buckets {
		if b == 0 {
			continue
		}
		if seen+float64(b) < rank {
			seen += float64(b)
			continue
		}
		if i == len(bounds) {
			return c.Max
		}
		lo := time.Duration(0)
		if i > 0 {
			lo = bounds[i-1]
		}
		hi := min(bounds[i], max(c.Max, lo))
		frac := math.Max(0, (rank-seen)/float64(b))
		return lo + time.Duration(frac*float64(hi-lo))
	}
	return c.Max
}

// Histogram is a histogram that any goroutine may add to and read at any
// time: an observation is two atomic adds (and a compare-and-swap on a new
// maximum). Its zero value is empty.
type Histogram struct {
	buckets [NumBuckets]atomic.Uint64
	sum     atomic.Int64
	max     atomic.Int64
}

// Observe counts d.
func (h *Histogram) Observe(d time.Duration) { h.ObserveN(d, 1) }

// ObserveN counts d n times: one sampled duration standing for n.
func (h *Histogram) ObserveN(d time.Duration, n uint64) {
	h.buckets[Bucket(d)].Add(n)
	h.sum.Add(int64(d) * int64(n))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Snapshot returns the histogram's counts. Observations made meanwhile may
// be seen in the buckets and not yet in the sum, or the reverse: each
// figure is exact, the set only nearly consistent.
func (h *Histogram) Snapshot() Counts {
	var c Counts
	for i := range h.buckets {
		c.Buckets[i] = h.buckets[i].Load()
	}
	c.Sum = time.Duration(h.sum.Load())
	c.Max = time.Duration(h.max.Load())
	return c
}
