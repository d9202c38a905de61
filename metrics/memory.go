package metrics

import (
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
)

// heapSample is the runtime metric of the live heap: reading it does not
// stop the world, unlike runtime.ReadMemStats.
const heapSample = "/memory/classes/heap/objects:bytes"

// readMemory reads the heap from the runtime and the resident set size from
// /proc (Linux; 0 elsewhere).
func readMemory() Memory {
	s := []metrics.Sample{{Name: heapSample}}
	metrics.Read(s)
	var m Memory
	if s[0].Value.Kind() == metrics.KindUint64 {
		m.Heap = s[0].Value.Uint64()
	}
	m.RSS = residentBytes()
	return m
}

// residentBytes returns the resident set size from /proc/self/statm, whose
// second field counts pages, or 0 if it cannot be read.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
