package bench

import "testing"

// BenchmarkChannelRoundTrip measures what Go code without a loop pays to
// hand a value to another goroutine and have an answer back: a send on one
// unbuffered channel, the other goroutine's reply on a second. It is the
// baseline cmd/benchreport sets beside the deferred package's benchmarks
// of Deferreds and of Inline's Await.
func BenchmarkChannelRoundTrip(b *testing.B) {
	ask, answer := make(chan int), make(chan int)
	go func() {
		for v := range ask {
			answer <- v + 1
		}
		close(answer)
	}()
	b.ReportAllocs()
	v := 0
	for b.Loop() {
		ask <- v
		v = <-answer
	}
	close(ask)
	if _, open := <-answer; open {
		b.Fatal("the answering goroutine sent after ask was closed")
	}
	if v != b.N {
		b.Fatalf("%d answers for %d round trips", v, b.N)
	}
}
