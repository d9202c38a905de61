package deferred_test

import (
	"testing"

	"github.com/twistgo/twist/deferred"
)

// awaitsPerOp is how many Awaits one benchmark operation makes.
const awaitsPerOp = 1000

// BenchmarkInlineAwait measures Await on 1,000 Deferreds per operation, and
// reports ns/await:
//
//   - pending: each Deferred fires after the coroutine awaits it, so each
//     Await is a switch to the loop and a switch back;
//   - fired: each Deferred has fired already, and Await takes its result
//     without suspending.
//
// Making and firing the Deferreds is part of the measure; the callback
// variants do the same with a plain callback in place of the coroutine, so
// that the difference is what the coroutine costs.
func BenchmarkInlineAwait(b *testing.B) {
	for _, fired := range []bool{false, true} {
		name := "pending"
		if fired {
			name = "fired"
		}
		b.Run(name+"/coroutine", func(b *testing.B) { benchAwait(b, fired, awaitAll) })
		b.Run(name+"/callback", func(b *testing.B) { benchAwait(b, fired, callbackAll) })
	}
}

// consumer gets the results of ds and returns a Deferred that fires with
// their sum once all have arrived.
type consumer func(ds []*deferred.Deferred) *deferred.Deferred

func awaitAll(ds []*deferred.Deferred) *deferred.Deferred {
	return deferred.Inline(func(c *deferred.Co) (any, error) {
		sum := 0
		for _, d := range ds {
			v, _ := c.Await(d)
			sum += v.(int)
		}
		return sum, nil
	})
}

func callbackAll(ds []*deferred.Deferred) *deferred.Deferred {
	sum, left := 0, len(ds)
	done := deferred.New()
	add := func(v any) (any, error) {
		sum += v.(int)
		if left--; left == 0 {
			done.Callback(sum)
		}
		return nil, nil
	}
	for _, d := range ds {
		d.AddBoth(add)
	}
	return done
}

func benchAwait(b *testing.B, fired bool, consume consumer) {
	ds := make([]*deferred.Deferred, awaitsPerOp)
	const want = awaitsPerOp * (awaitsPerOp - 1) / 2
	b.ReportAllocs()
	for b.Loop() {
		for i := range ds {
			if fired {
				ds[i] = deferred.Succeed(i)
			} else {
				ds[i] = deferred.New()
			}
		}
		d := consume(ds)
		if !fired {
			for i, w := range ds {
				w.Callback(i)
			}
		}
		if v, err := deferred.Value[int](d); v != want || err != nil {
			b.Fatalf("got %v, %v", v, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*awaitsPerOp), "ns/await")
}

// BenchmarkInlineStart measures starting and finishing a coroutine that does
// not suspend: the fixed cost of Inline itself.
func BenchmarkInlineStart(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		deferred.Inline(func(c *deferred.Co) (any, error) { return nil, nil })
	}
}
