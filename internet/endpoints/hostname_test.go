//go:build unix

package endpoints

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// fakeHostname returns a HostnameEndpoint on a MemoryReactorClock whose
// resolver answers ips at once (or fails with err).
func fakeHostname(ips []string, err error) (*HostnameEndpoint, *twisttest.MemoryReactorClock) {
	m := twisttest.NewMemoryReactorClock()
	e := &HostnameEndpoint{desc: "tcp:host=example.test:port=80", host: "example.test", port: 80,
		delay: DefaultAttemptDelay, most: DefaultMaxAddresses, net: m,
		resolve: func(_ context.Context, host string, done func([]netip.Addr, error)) {
			var addrs []netip.Addr
			for _, s := range ips {
				addrs = append(addrs, netip.MustParseAddr(s))
			}
			done(addrs, err)
		}}
	return e, m
}

func addresses(m *twisttest.MemoryReactorClock) []string {
	var out []string
	for _, c := range m.TCPClients {
		out = append(out, c.Address)
	}
	return out
}

func TestInterleave(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"::1", "::2", "127.0.0.1", "127.0.0.2"}, []string{"[::1]:80", "127.0.0.1:80", "[::2]:80", "127.0.0.2:80"}},
		{[]string{"10.0.0.1", "10.0.0.2", "::1"}, []string{"10.0.0.1:80", "[::1]:80", "10.0.0.2:80"}},
		{[]string{"::ffff:10.0.0.1", "10.0.0.1", "::1", "::1"}, []string{"10.0.0.1:80", "[::1]:80"}},
	} {
		var ips []netip.Addr
		for _, s := range tc.in {
			ips = append(ips, netip.MustParseAddr(s))
		}
		var got []string
		for _, ap := range interleave(ips, 80) {
			got = append(got, ap.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("interleave(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestHappyEyeballsAttemptTiming(t *testing.T) {
	e, m := fakeHostname([]string{"::1", "::2", "127.0.0.1"}, nil)
	p := &internet.BaseProtocol{}
	d := e.Connect(oneProtocol(p))
	if got := addresses(m); !slices.Equal(got, []string{"[::1]:80"}) {
		t.Fatalf("first attempts %v", got)
	}
	m.Advance(DefaultAttemptDelay - time.Millisecond)
	if len(m.TCPClients) != 1 {
		t.Fatalf("%d attempts before the attempt delay", len(m.TCPClients))
	}
	m.Advance(time.Millisecond)
	if got := addresses(m); !slices.Equal(got, []string{"[::1]:80", "127.0.0.1:80"}) {
		t.Fatalf("after the delay: %v", got)
	}
	// A failure starts the next attempt at once, without waiting.
	m.TCPClients[1].Fail(internet.ErrConnectionRefused)
	if got := addresses(m); !slices.Equal(got, []string{"[::1]:80", "127.0.0.1:80", "[::2]:80"}) {
		t.Fatalf("after a failure: %v", got)
	}
	twisttest.AssertNoResult(t, d)
	// The last one wins; the first, still connecting, is stopped.
	tr := &twisttest.StringTransport{}
	m.TCPClients[2].Complete(tr)
	if got := twisttest.SuccessResultOf(t, d); got != p {
		t.Fatalf("Connect gave %v", got)
	}
	if p.Transport != tr {
		t.Error("the protocol did not get the transport")
	}
	if s := m.TCPClients[0].State(); s != internet.Disconnected {
		t.Errorf("the loser is %v", s)
	}
	if calls := m.DelayedCalls(); len(calls) != 0 {
		t.Errorf("%d timers left", len(calls))
	}
}

func TestHappyEyeballsEveryAddressFails(t *testing.T) {
	e, m := fakeHostname([]string{"127.0.0.1", "::1"}, nil)
	d := e.Connect(oneProtocol(&internet.BaseProtocol{}))
	m.TCPClients[0].Fail(internet.ErrConnectionRefused)
	twisttest.AssertNoResult(t, d)
	m.TCPClients[1].Fail(internet.ErrTimeout)
	f := twisttest.FailureResultOf(t, d, new(*Error))
	var ae *AttemptsError
	if !errors.As(f, &ae) || len(ae.Errs) != 2 || !errors.Is(f, internet.ErrConnectionRefused) || !errors.Is(f, internet.ErrTimeout) {
		t.Fatalf("failure %v", f.Value())
	}
	want := `endpoints: cannot connect to "tcp:host=example.test:port=80": every address failed: 127.0.0.1:80: `
	if msg := f.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "; [::1]:80: ") {
		t.Errorf("message %q", msg)
	}
	if len(m.DelayedCalls()) != 0 {
		t.Error("a timer is left")
	}
}

func TestHappyEyeballsResolutionFails(t *testing.T) {
	e, m := fakeHostname(nil, &net.DNSError{Err: "no such host", Name: "example.test", IsNotFound: true})
	f := twisttest.FailureResultOf(t, e.Connect(oneProtocol(&internet.BaseProtocol{})), new(*Error))
	if !strings.Contains(f.Error(), "lookup example.test: no such host") || len(m.TCPClients) != 0 {
		t.Errorf("failure %v, %d attempts", f, len(m.TCPClients))
	}
	e, _ = fakeHostname(nil, nil)
	f = twisttest.FailureResultOf(t, e.Connect(oneProtocol(&internet.BaseProtocol{})), new(*Error))
	if !strings.Contains(f.Error(), `the name "example.test" has no address`) {
		t.Errorf("failure %v", f)
	}
}

func TestHappyEyeballsCancel(t *testing.T) {
	e, m := fakeHostname([]string{"127.0.0.1", "::1"}, nil)
	d := e.Connect(oneProtocol(&internet.BaseProtocol{}))
	m.Advance(DefaultAttemptDelay)
	d.Cancel()
	twisttest.FailureResultOf(t, d, ErrConnectingCancelled)
	for _, c := range m.TCPClients {
		if c.State() != internet.Disconnected {
			t.Errorf("%s is %v", c.Address, c.State())
		}
	}
	if len(m.DelayedCalls()) != 0 {
		t.Error("a timer is left")
	}
}

func TestHostnameEndpointOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		host string
		ips  []string // nil: the real resolver
	}{
		{"ipv4", "127.0.0.1", nil},
		{"ipv6", "::1", nil},
		{"localhost", "localhost", nil},
		// ::1 refuses (nobody listens there), 127.0.0.1 answers.
		{"fallback", "both.test", []string{"::1", "127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
				srv := &echoServer{}
				iface := "127.0.0.1"
				if tc.host == "::1" {
					iface = "::1"
				}
				port, err := internet.ListenTCP(r, net.JoinHostPort(iface, "0"), srv)
				if err != nil {
					return deferred.Fail(err)
				}
				e := NewHostnameEndpoint(r, tc.host, port.Addr().(*net.TCPAddr).Port)
				if tc.ips != nil {
					real := e.resolve
					e.resolve = func(ctx context.Context, _ string, done func([]netip.Addr, error)) {
						// Through the real path: another goroutine and
						// CallFromThread, for IP literals.
						real(ctx, strings.Join(tc.ips, ""), func([]netip.Addr, error) {
							var ips []netip.Addr
							for _, s := range tc.ips {
								ips = append(ips, netip.MustParseAddr(s))
							}
							done(ips, nil)
						})
					}
				}
				g := newGreeter()
				return e.Connect(oneProtocol(g)).AddCallback(func(any) (any, error) {
					return g.done, nil
				}).AddBoth(func(v any) (any, error) {
					port.StopListening()
					if f, ok := v.(*deferred.Failure); ok {
						return nil, f
					}
					return srv.closed().AddCallback(func(any) (any, error) { return v, nil }), nil
				})
			})
			if got != "hello" {
				t.Errorf("echo = %q", got)
			}
		})
	}
}

func TestHappyEyeballsTriesAtMostMaxAddresses(t *testing.T) {
	e, m := fakeHostname([]string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "::1"}, nil)
	e.SetMaxAddresses(2)
	d := e.Connect(oneProtocol(&internet.BaseProtocol{}))
	m.Advance(10 * DefaultAttemptDelay)
	if got := addresses(m); !slices.Equal(got, []string{"10.0.0.1:80", "[::1]:80"}) {
		t.Fatalf("tried %v", got)
	}
	m.TCPClients[0].Fail(internet.ErrConnectionRefused)
	m.TCPClients[1].Fail(internet.ErrConnectionRefused)
	twisttest.FailureResultOf(t, d, internet.ErrConnectionRefused)
}
