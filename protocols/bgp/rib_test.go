package bgp

import (
	"net/netip"
	"runtime"
	"testing"
)

func TestAdjRIBInCounts(t *testing.T) {
	r := newAdjRIBIn()
	a := &Attributes{}
	for _, p := range pfx("10.0.0.0/8", "10.0.0.0/8", "2001:db8::/32", "10.1.0.0/16") {
		r.add(p, a)
	}
	r.remove(netip.MustParsePrefix("10.1.0.0/16"))
	r.remove(netip.MustParsePrefix("192.0.2.0/24"))
	if v4, v6 := r.Count(); v4 != 1 || v6 != 1 || r.Len() != 2 {
		t.Errorf("counts %d %d %d", v4, v6, r.Len())
	}
	n := 0
	for range r.All() {
		n++
	}
	if n != 2 {
		t.Errorf("All yielded %d", n)
	}
}

// BenchmarkRIBMemory reports the heap a stored route costs, for routes
// decoded from UPDATEs of 200 prefixes each, as a full table arrives.
func BenchmarkRIBMemory(b *testing.B) {
	const routes = 200_000
	var buf []byte
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := newAdjRIBIn()
		for i := 0; i < routes; i += 200 {
			src := &Update{Attrs: &Attributes{Origin: OriginIGP, NextHop: nh4,
				ASPath:      []ASPathSegment{{ASSequence, []uint32{65001, 3356, uint32(i)}}},
				Communities: []uint32{1, 2}}}
			for k := i; k < i+200; k++ {
				src.NLRI = append(src.NLRI, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(k >> 16), byte(k >> 8), byte(k), 0}), 24))
			}
			buf = src.AppendMessage(buf[:0])
			var u Update
			if err := u.Decode(buf[HeaderLen:], Options{AS4: true}); err != nil {
				b.Fatal(err)
			}
			for _, p := range u.NLRI {
				r.add(p, u.Attrs)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/routes, "bytes/route")
		runtime.KeepAlive(r)
	}
}
