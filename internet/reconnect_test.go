//go:build unix

package internet

import (
	"math"
	"net"
	"testing"
	"time"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
)

// retryRecorder wraps a ReconnectingClientFactory to see its failures.
type retryRecorder struct {
	*ReconnectingClientFactory
	onFailed func(c Connector)
}

func (r *retryRecorder) ClientConnectionFailed(c Connector, reason error) {
	r.ReconnectingClientFactory.ClientConnectionFailed(c, reason)
	r.onFailed(c)
}

func TestReconnectingClientFactoryBacksOffExactly(t *testing.T) {
	const retries = 4
	// The jitter's draw is fixed at half a standard deviation above the mean.
	f := NewReconnectingClientFactory(FactoryFunc(func(net.Addr) Protocol { return &BaseProtocol{} }))
	f.MaxRetries = retries
	f.Normal = func(mean, stddev float64) float64 { return mean + stddev/2 }
	clk := task.NewClock()
	f.Clock = clk
	var delays []time.Duration
	failures := 0
	runStreamTest(t, func(loop *reactor.Reactor) {
		r := &retryRecorder{ReconnectingClientFactory: f}
		r.onFailed = func(c Connector) {
			failures++
			calls := clk.DelayedCalls()
			if failures > retries {
				if len(calls) != 0 {
					t.Errorf("a retry was scheduled after %d retries", retries)
				}
				_ = loop.Stop()
				return
			}
			if len(calls) != 1 {
				t.Fatalf("%d calls scheduled", len(calls))
			}
			delays = append(delays, calls[0].Time().Sub(clk.Now()))
			clk.Advance(calls[0].Time().Sub(clk.Now()))
			if c.State() != Connecting {
				t.Errorf("state %v after the retry came due", c.State())
			}
		}
		ConnectTCP(loop, closedPort(t, loop), r)
	})
	// Twisted: delay = min(delay * e, maxDelay), then normalvariate(delay, delay * jitter).
	want := 1.0
	for i, got := range delays {
		want = min(want*math.E, 3600)
		want += want * DefaultJitter / 2
		if d := time.Duration(want * float64(time.Second)); got != d {
			t.Errorf("retry %d after %v, want %v", i+1, got, d)
		}
	}
	if len(delays) != retries || f.Retries() != retries+1 {
		t.Errorf("%d retries scheduled, Retries() = %d", len(delays), f.Retries())
	}
	if got := delays[0]; got != 2880871186*time.Nanosecond {
		t.Errorf("the first retry came after %v, want 2.880871186s (1s * e * (1 + 0.1196/2))", got)
	}
}

func TestReconnectingClientFactoryMaxDelayResetAndStopTrying(t *testing.T) {
	clk := task.NewClock()
	var connector *StreamConnector
	runStreamTest(t, func(loop *reactor.Reactor) {
		defer func() { _ = loop.Stop() }()
		f := NewReconnectingClientFactory(FactoryFunc(func(net.Addr) Protocol { return nil }))
		f.Jitter = 0
		f.MaxDelay = 10 * time.Second
		f.Clock = clk
		connector = ConnectTCP(loop, closedPort(t, loop), &clientFactory{})
		_ = connector.StopConnecting()
		for range 5 {
			f.ClientConnectionLost(connector, ErrConnectionDone)
			if calls := clk.DelayedCalls(); len(calls) != 1 {
				t.Fatalf("%d calls scheduled", len(calls))
			}
			clk.Advance(f.Delay())
			_ = connector.StopConnecting()
		}
		if f.Delay() != 10*time.Second {
			t.Errorf("the delay grew to %v past MaxDelay", f.Delay())
		}
		f.ResetDelay()
		if f.Delay() != time.Second || f.Retries() != 0 {
			t.Errorf("after ResetDelay: delay %v, %d retries", f.Delay(), f.Retries())
		}
		f.ClientConnectionLost(connector, ErrConnectionDone)
		f.StopTrying()
		if calls := clk.DelayedCalls(); len(calls) != 0 {
			t.Errorf("StopTrying left %d calls scheduled", len(calls))
		}
		f.ClientConnectionFailed(connector, ErrConnectionRefused)
		if calls := clk.DelayedCalls(); len(calls) != 0 {
			t.Error("a retry was scheduled after StopTrying")
		}
		if connector.State() != Disconnected {
			t.Errorf("the connector is %v", connector.State())
		}
	})
}
