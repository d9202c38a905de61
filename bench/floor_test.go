package bench

import "testing"

// BenchmarkLoopbackPingPong reports MeasureFloor's figures: the kernel's
// system time per message that no TCP server here can go below.
func BenchmarkLoopbackPingPong(b *testing.B) {
	f, err := MeasureFloor(b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(f.User, "user-ns/msg")
	b.ReportMetric(f.Sys, "sys-ns/msg")
}

// TestMeasureFloor: the floor is measured, and a message costs the kernel
// some system time.
func TestMeasureFloor(t *testing.T) {
	f, err := MeasureFloor(5000)
	if err != nil {
		t.Fatal(err)
	}
	if f.Sys <= 0 {
		t.Errorf("MeasureFloor = %+v: no system time per message", f)
	}
}
