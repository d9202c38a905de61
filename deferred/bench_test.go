package deferred_test

import (
	"testing"

	"github.com/twistgo/twist/deferred"
)

func passThrough(v any) (any, error) { return v, nil }

// BenchmarkAddCallbackFired measures the common case of adding a callback to
// a Deferred that already has its result: the callback runs at once.
func BenchmarkAddCallbackFired(b *testing.B) {
	d := deferred.Succeed(1)
	b.ReportAllocs()
	for b.Loop() {
		d.AddCallback(passThrough)
	}
}

// BenchmarkChain10 builds a Deferred with ten callbacks and fires it.
func BenchmarkChain10(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		d := deferred.New()
		for range 10 {
			d.AddCallback(passThrough)
		}
		d.Callback(1)
	}
}

// BenchmarkLinked10000 links 10,000 Deferreds by returning each from a
// callback on the one before, fires them outermost first so that each waits
// on the next, then fires the innermost, which unwinds them all.
func BenchmarkLinked10000(b *testing.B) {
	const n = 10000
	ds := make([]*deferred.Deferred, n)
	b.ReportAllocs()
	for b.Loop() {
		for i := range ds {
			ds[i] = deferred.New()
		}
		for i := 0; i < n-1; i++ {
			next := ds[i+1]
			ds[i].AddCallback(func(any) (any, error) { return next, nil })
		}
		for _, d := range ds[:n-1] {
			d.Callback(nil)
		}
		ds[n-1].Callback(1)
		if v, _ := ds[0].Result(); v != 1 {
			b.Fatalf("result %v", v)
		}
	}
}
