package socks

import (
	"net/netip"
	"testing"

	"github.com/twistgo/twist/twisttest"
)

// FuzzRequest feeds arbitrary bytes to the parsers and to a session (which
// must refuse or wait, never panic, never buffer past its bound, and never
// try a connection to a blocked address: its Loop is nil).
func FuzzRequest(f *testing.F) {
	f.Add([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 3, 9, '1', '2', '7', '.', '0', '.', '0', '.', '1', 0, 80})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 1, 2, 1, 1, 'a', 1, 'b'})
	f.Add([]byte{5, 1, 0, 5, 2, 0, 1, 10, 0, 0, 1, 0, 22})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 9})
	f.Add([]byte{5, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, n, err := ParseRequest(data); err == nil && n > 0 {
			if n > len(data) || n > MaxMessage {
				t.Fatalf("request length %d of %d bytes", n, len(data))
			}
			_ = r.Host()
		}
		ParseGreeting(data)
		ParseAuth(data)

		p, tr := start(&Factory{Clock: twisttest.NewClock(), Destinations: Destinations{Own: []netip.Addr{}}})
		tr.Lenient = true
		// In chunks of 3, to cross every boundary, until the session waits
		// for its connection: its transport is paused then, and delivers
		// nothing more.
		for len(data) > 0 && p.state < awaitConnect {
			n := min(3, len(data))
			func() {
				defer func() {
					// Only a permitted destination reaches the nil Loop.
					if v := recover(); v != nil && p.state != awaitConnect {
						panic(v)
					}
				}()
				p.DataReceived(data[:n])
			}()
			data = data[n:]
		}
		if len(p.buf) > MaxMessage+255+3 && p.state < awaitConnect {
			t.Fatalf("%d bytes buffered", len(p.buf))
		}
	})
}
