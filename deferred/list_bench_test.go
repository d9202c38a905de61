package deferred_test

import (
	"testing"

	"github.com/twistgo/twist/deferred"
)

// BenchmarkList1000 measures a List of 1,000 Deferreds, made before the
// timer starts, that fire one by one. They fire with the same boxed value, so
// that only the List's own work is counted.
func BenchmarkList1000(b *testing.B) {
	const n = 1000
	var value any = "v"
	b.ReportAllocs()
	fired := 0
	for b.Loop() {
		b.StopTimer()
		ds := newDeferreds(n)
		b.StartTimer()
		deferred.List(ds).AddCallback(func(any) (any, error) {
			fired++
			return nil, nil
		})
		for _, d := range ds {
			d.Callback(value)
		}
	}
	if fired == 0 {
		b.Fatal("the List never fired")
	}
}
