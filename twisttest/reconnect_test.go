package twisttest_test

import (
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

// resetter is the protocol a ReconnectingClientFactory expects: it resets
// the factory's delay once its connection is made.
type resetter struct {
	internet.BaseProtocol
	f *internet.ReconnectingClientFactory
}

func (p *resetter) ConnectionMade(t internet.Transport) {
	p.BaseProtocol.ConnectionMade(t)
	p.f.ResetDelay()
}

// seconds is a delay of s seconds, converted as the factory converts it.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func TestReconnectingClientFactoryOnMemoryReactorClock(t *testing.T) {
	m := twisttest.NewMemoryReactorClock()
	var f *internet.ReconnectingClientFactory
	f = internet.NewReconnectingClientFactory(internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &resetter{f: f}
	}))
	f.Clock = m
	f.Jitter = 0
	m.ConnectTCP("10.0.0.1:7000", f)
	c := m.TCPClients[0]

	// retryAfter checks that the retry comes due after d, not before, on
	// the same connector.
	retryAfter := func(d time.Duration) {
		t.Helper()
		if f.Delay() != d {
			t.Fatalf("Delay = %v, want %v", f.Delay(), d)
		}
		attempts := c.Attempts()
		m.Advance(d - time.Nanosecond)
		if c.Attempts() != attempts || c.State() != internet.Disconnected {
			t.Fatalf("retried before %v: %d attempts, %v", d, c.Attempts(), c.State())
		}
		m.Advance(time.Nanosecond)
		if c.Attempts() != attempts+1 || c.State() != internet.Connecting {
			t.Fatalf("no retry after %v: %d attempts, %v", d, c.Attempts(), c.State())
		}
	}

	// Each failure in a row multiplies the delay by e, in float64 as the
	// factory computes it.
	e := math.E
	c.Fail(internet.ErrConnectionRefused)
	retryAfter(seconds(e))
	c.Fail(internet.ErrConnectionRefused)
	retryAfter(seconds(e * e))
	if f.Retries() != 2 {
		t.Fatalf("Retries = %d after two failures", f.Retries())
	}

	// The protocol's ResetDelay on connecting starts the back-off over:
	// the loss is retried after e seconds again.
	c.Complete(&twisttest.StringTransport{})
	if f.Delay() != time.Second || f.Retries() != 0 {
		t.Fatalf("after the connection was made: Delay = %v, Retries = %d", f.Delay(), f.Retries())
	}
	c.Lose(internet.ErrConnectionLost)
	retryAfter(seconds(e))

	// StopTrying ends the attempt in progress, and no retry follows.
	f.StopTrying()
	if c.State() != internet.Disconnected {
		t.Fatalf("StopTrying left the connector %v", c.State())
	}
	attempts := c.Attempts()
	m.Advance(internet.DefaultMaxDelay)
	if c.Attempts() != attempts {
		t.Fatalf("retried after StopTrying: %d attempts, want %d", c.Attempts(), attempts)
	}

	// ResetDelay undoes StopTrying: a failure is retried again, from the
	// initial delay.
	f.ResetDelay()
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	c.Fail(internet.ErrConnectionRefused)
	retryAfter(seconds(e))
}

func TestReconnectingClientFactoryNeedsAClockForAFake(t *testing.T) {
	m := &twisttest.MemoryReactor{}
	f := internet.NewReconnectingClientFactory(internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil }))
	m.ConnectTCP("10.0.0.1:7000", f)
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "needs a Clock") {
			t.Fatalf("panic %q, want one that asks for a Clock", r)
		}
	}()
	m.TCPClients[0].Fail(internet.ErrConnectionRefused)
}
