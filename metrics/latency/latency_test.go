package latency

import (
	"sync"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{5 * time.Microsecond, 0},
		{5*time.Microsecond + 1, 1},
		{time.Millisecond, 7},
		{30 * time.Millisecond, 12},
		{10 * time.Second, NumBuckets - 2},
		{time.Hour, NumBuckets - 1},
	}
	for _, tt := range tests {
		if got := Bucket(tt.d); got != tt.want {
			t.Errorf("Bucket(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
	b := Bounds()
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] || Bucket(b[i]) != i {
			t.Fatalf("bound %d (%v) is out of order or not in its own bucket", i, b[i])
		}
	}
}

func TestQuantile(t *testing.T) {
	var c Counts
	if c.Quantile(0.5) != 0 {
		t.Error("the quantile of nothing is not 0")
	}
	// 100 durations in (500µs, 1ms], one of 3 s.
	for range 100 {
		c.Observe(800 * time.Microsecond)
	}
	c.Observe(3 * time.Second)
	if c.Count() != 101 || c.Max != 3*time.Second || c.Sum != 80*time.Millisecond+3*time.Second {
		t.Fatalf("Count, Max, Sum = %d, %v, %v", c.Count(), c.Max, c.Sum)
	}
	if q := c.Quantile(0.5); q <= 500*time.Microsecond || q > time.Millisecond {
		t.Errorf("p50 = %v, want in (500µs, 1ms]", q)
	}
	if q := c.Quantile(1); q <= 2500*time.Millisecond || q > 3*time.Second {
		t.Errorf("p100 = %v, want in (2.5s, 3s]", q)
	}
	var prev Counts
	prev.Observe(800 * time.Microsecond)
	if w := c.Sub(&prev); w.Count() != 100 || w.Sum != c.Sum-800*time.Microsecond {
		t.Errorf("Sub: Count, Sum = %d, %v", w.Count(), w.Sum)
	}
}

// TestHistogramConcurrent observes from several goroutines at once; the
// race detector and the totals check it.
func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				h.Observe(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	s := h.Snapshot()
	if s.Count() != 4000 || s.Max != 3999*time.Microsecond {
		t.Errorf("Count, Max = %d, %v; want 4000, 3.999ms", s.Count(), s.Max)
	}
	if want := time.Duration(4000*3999/2) * time.Microsecond; s.Sum != want {
		t.Errorf("Sum = %v, want %v", s.Sum, want)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Observe(time.Duration(i&1023) * time.Microsecond)
	}
}

func BenchmarkCountsObserve(b *testing.B) {
	var c Counts
	for i := range b.N {
		c.Observe(time.Duration(i&1023) * time.Microsecond)
	}
}
