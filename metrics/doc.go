// Package metrics gathers what a Twist program counts about itself (its
// loops, listeners, RPC functions, thread pools, unhandled Deferred failures,
// memory and goroutines) into one Registry, which gives it two ways: a
// Snapshot, a plain struct with JSON tags that is the /status.json document
// of the status page, and a prometheus.Collector for /metrics.
//
// The counting itself lives in the core and is always on, at a cost chosen
// to be invisible on the echo and RPC benchmarks:
//
//   - a loop (reactor.Reactor) counts with plain adds on its own goroutine,
//     and gives its counters to other goroutines by copying them on its next
//     turn, when asked (Reactor.Stats): no atomic operation and no lock on
//     the hot path, and a loop stuck in a callback shows as not responding;
//   - a listener (internet.Port, internet.GroupPort) counts with one atomic
//     add per accept, per close, per read and per write system call, since
//     its connections may live on several loops;
//   - an RPC server (rpc.Server) counts per function with atomic adds, as
//     it already counted calls for mongowire's serverStatus;
//   - a thread pool (threads.Pool) is read under the lock it takes anyway;
//   - the deferred package counts the failures it reports unhandled.
//
// make overhead (metrics/internal/overheadload) measures that cost under
// valgrind with the counting on and off: at most 0.75% of the server's CPU
// on the echo and 0.62% on the RPC benchmarks (docs/design.md, Overhead).
//
// Nothing is sampled or sent anywhere until a Registry is read: Snapshot
// and the collector's Collect do all the work of reading, on the caller's
// goroutine, and may be called from any goroutine at any time.
//
// Counters are cumulative since each part started; rates and recent
// quantiles are the reader's to compute from two snapshots (the latency
// histograms carry their bucket counts for that, see package latency).
package metrics
