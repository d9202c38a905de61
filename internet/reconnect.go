package internet

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/twistgo/twist/clock"
)

// Twisted's ReconnectingClientFactory defaults.
const (
	DefaultInitialDelay = time.Second
	DefaultMaxDelay     = 3600 * time.Second
	DefaultFactor       = 2.7182818284590451 // e: the delay's growth per retry
	DefaultJitter       = 0.11962656472      // the delay's relative standard deviation
)

// ReconnectingClientFactory is a ClientFactory that reconnects with an
// exponential back-off whenever its connection fails or is lost (Twisted's
// ReconnectingClientFactory). Each retry multiplies the delay by Factor,
// caps it at MaxDelay, then draws it from a normal distribution with that
// mean and a standard deviation of Jitter times it, so that many clients
// cut off at once do not all come back at once.
//
// The protocol should call ResetDelay once its connection is established,
// so that the next loss starts from InitialDelay again. Make one with
// NewReconnectingClientFactory; it is used on its connector's loop.
type ReconnectingClientFactory struct {
	// Factory builds the protocols.
	Factory
	// InitialDelay is the delay ResetDelay goes back to.
	InitialDelay time.Duration
	// MaxDelay caps the delay before the jitter.
	MaxDelay time.Duration
	// Factor multiplies the delay at each retry.
	Factor float64
	// Jitter is the standard deviation of the delay, relative to it; 0
	// turns the randomness off.
	Jitter float64
	// MaxRetries is how many retries in a row are made before giving up;
	// a negative value, the default, means no limit.
	MaxRetries int
	// Clock schedules the retries; nil means the loop of the connector,
	// which must then be a *StreamConnector: set it to retry through a fake.
	Clock clock.Clock
	// Normal returns a normally distributed number with the given mean and
	// standard deviation (Python's random.normalvariate): the source of the
	// jitter, replaceable for tests. nil means math/rand/v2.
	Normal func(mean, stddev float64) float64

	delay     float64 // seconds, as Twisted computes it
	retries   int
	stopped   bool
	connector Connector
	call      clock.DelayedCall
}

// NewReconnectingClientFactory returns a ReconnectingClientFactory that
// builds protocols with f, with Twisted's defaults: an initial delay of 1s,
// a factor of e, a jitter of 0.1196, a maximum delay of an hour and no
// limit on retries.
func NewReconnectingClientFactory(f Factory) *ReconnectingClientFactory {
	return &ReconnectingClientFactory{
		Factory:      f,
		InitialDelay: DefaultInitialDelay,
		MaxDelay:     DefaultMaxDelay,
		Factor:       DefaultFactor,
		Jitter:       DefaultJitter,
		MaxRetries:   -1,
		delay:        DefaultInitialDelay.Seconds(),
	}
}

// ClientConnectionFailed schedules a retry, unless StopTrying was called.
func (f *ReconnectingClientFactory) ClientConnectionFailed(c Connector, reason error) {
	f.retryLater(c)
}

// ClientConnectionLost schedules a retry, unless StopTrying was called.
func (f *ReconnectingClientFactory) ClientConnectionLost(c Connector, reason error) {
	f.retryLater(c)
}

func (f *ReconnectingClientFactory) retryLater(c Connector) {
	if f.stopped {
		return
	}
	f.connector = c
	f.Retry()
}

// Retry schedules the connector of the last failure or loss to connect
// again after the next delay, unless StopTrying was called or MaxRetries
// retries were made in a row.
func (f *ReconnectingClientFactory) Retry() {
	c := f.connector
	if f.stopped || c == nil {
		return
	}
	f.retries++
	if f.MaxRetries >= 0 && f.retries > f.MaxRetries {
		slog.Info("internet: giving up reconnecting", "addr", c.DestinationAddr(), "retries", f.retries-1)
		return
	}
	f.delay = min(f.delay*f.Factor, f.MaxDelay.Seconds())
	if f.Jitter != 0 {
		normal := f.Normal
		if normal == nil {
			normal = func(mean, stddev float64) float64 { return mean + stddev*rand.NormFloat64() }
		}
		f.delay = normal(f.delay, f.delay*f.Jitter)
	}
	clk := f.Clock
	if clk == nil {
		sc, ok := c.(*StreamConnector)
		if !ok {
			panic(fmt.Sprintf("internet: a ReconnectingClientFactory needs a Clock to retry a %T", c))
		}
		clk = sc.loop
	}
	f.call = clk.CallLater(time.Duration(f.delay*float64(time.Second)), func() {
		f.call = nil
		_ = c.Connect()
	})
}

// Delay returns the delay of the last retry scheduled, or the initial
// delay after a reset.
func (f *ReconnectingClientFactory) Delay() time.Duration {
	return time.Duration(f.delay * float64(time.Second))
}

// Retries returns how many retries have been made since the last reset.
func (f *ReconnectingClientFactory) Retries() int { return f.retries }

// StopTrying cancels a scheduled retry, stops an attempt in progress and
// keeps the factory from retrying until ResetDelay.
func (f *ReconnectingClientFactory) StopTrying() {
	if f.call != nil {
		_ = f.call.Cancel()
		f.call = nil
	}
	f.stopped = true
	if f.connector != nil {
		_ = f.connector.StopConnecting()
	}
}

// ResetDelay goes back to the initial delay and a count of zero retries,
// and undoes StopTrying. A protocol calls it when its connection is made.
func (f *ReconnectingClientFactory) ResetDelay() {
	f.delay = f.InitialDelay.Seconds()
	f.retries = 0
	f.call = nil
	f.stopped = false
}
