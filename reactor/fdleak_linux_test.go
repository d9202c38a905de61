package reactor

import (
	"os"
	"testing"
)

// openFds returns how many descriptors the process has open.
func openFds(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list open descriptors: %v", err)
	}
	return len(entries)
}

// TestPollerDescriptorsReleased checks that the epoll descriptor and the
// eventfd are closed by Run when it returns and by Close for a reactor that
// never ran.
func TestPollerDescriptorsReleased(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, r *Reactor)
	}{
		{"Run", func(t *testing.T, r *Reactor) {
			r.CallWhenRunning(func() { stop(t, r) })
			run(t, r)
		}},
		{"Close", func(t *testing.T, r *Reactor) {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := openFds(t)
			for range 10 {
				r, err := New()
				if err != nil {
					t.Fatal(err)
				}
				tc.end(t, r)
			}
			if after := openFds(t); after != before {
				t.Fatalf("%d descriptors open before, %d after ten reactors", before, after)
			}
		})
	}
}
