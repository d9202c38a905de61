package policies

import (
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
)

// ThrottleConfig are the rates of Throttle, in bytes per second; 0 leaves
// that direction free.
type ThrottleConfig struct {
	// ReadLimit is the rate at which a connection is read.
	ReadLimit int
	// WriteLimit is the rate at which a connection's producer may write.
	WriteLimit int
	// Clock measures the seconds; nil means each connection's loop.
	Clock clock.Clock
}

// Throttle returns f's protocols wrapped so that each connection is read,
// and its producer writes, at no more than the rates of cfg (Twisted's
// ThrottlingFactory). As in Twisted, the bytes of each second are counted
// and, at its end, a direction that went over its rate is paused for as
// long as the excess takes at that rate. Writes are throttled by pausing the
// producer the wrapped protocol registered; a protocol without a producer is
// not held back. Unlike Twisted, the rates are per connection.
func Throttle(f internet.Factory, cfg ThrottleConfig) *WrappingFactory {
	return &WrappingFactory{Wrapped: f, Policy: &throttlePolicy{cfg: cfg}}
}

type throttlePolicy struct {
	admitAll
	cfg ThrottleConfig
}

func (t *throttlePolicy) Wrap(w *ProtocolWrapper) Wrapper {
	return &throttleProtocol{ProtocolWrapper: w, cfg: &t.cfg}
}

type throttleProtocol struct {
	*ProtocolWrapper
	cfg           *ThrottleConfig
	clk           clock.Clock
	read, written int
	// tick is the end of the second being counted, nil while no byte
	// has been counted since the last one.
	tick            clock.DelayedCall
	unthrottleRead  clock.DelayedCall
	unthrottleWrite clock.DelayedCall
}

func (p *throttleProtocol) ConnectionMade(t internet.Transport) {
	p.clk = ConnectionClock(p.cfg.Clock, t)
	p.ProtocolWrapper.ConnectionMade(t)
}

func (p *throttleProtocol) DataReceived(data []byte) {
	p.count(&p.read, len(data), p.cfg.ReadLimit)
	p.ProtocolWrapper.DataReceived(data)
}

func (p *throttleProtocol) Write(b []byte) (int, error) {
	p.count(&p.written, len(b), p.cfg.WriteLimit)
	return p.ProtocolWrapper.Write(b)
}

func (p *throttleProtocol) WriteSequence(bufs [][]byte) error {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	p.count(&p.written, n, p.cfg.WriteLimit)
	return p.ProtocolWrapper.WriteSequence(bufs)
}

func (p *throttleProtocol) ConnectionLost(reason error) {
	for _, c := range []clock.DelayedCall{p.tick, p.unthrottleRead, p.unthrottleWrite} {
		if c != nil && c.Active() {
			_ = c.Cancel()
		}
	}
	p.ProtocolWrapper.ConnectionLost(reason)
}

// count adds n bytes to a direction's count, if that direction has a
// limit, and makes sure the second is being timed.
func (p *throttleProtocol) count(c *int, n, limit int) {
	if limit <= 0 || p.clk == nil {
		return
	}
	*c += n
	if p.tick == nil {
		p.tick = p.clk.CallLater(time.Second, p.endSecond)
	}
}

// endSecond pauses each direction that went over its rate for the time its
// excess takes, and starts counting the next second.
func (p *throttleProtocol) endSecond() {
	p.tick = nil
	if over := excess(p.read, p.cfg.ReadLimit); over > 0 && p.unthrottleRead == nil {
		p.pauseReading(pausedByThrottle)
		p.unthrottleRead = p.clk.CallLater(over, func() {
			p.unthrottleRead = nil
			p.resumeReading(pausedByThrottle)
		})
	}
	if over := excess(p.written, p.cfg.WriteLimit); over > 0 && p.unthrottleWrite == nil {
		if pp, ok := p.producer.(internet.PushProducer); ok {
			pp.PauseProducing()
			p.unthrottleWrite = p.clk.CallLater(over, func() {
				p.unthrottleWrite = nil
				if p.producer == pp {
					pp.ResumeProducing()
				}
			})
		}
	}
	p.read, p.written = 0, 0
}

// excess is how long the bytes over limit take at that rate (Twisted's
// throttle time), or 0 if n is within it.
func excess(n, limit int) time.Duration {
	if limit <= 0 || n <= limit {
		return 0
	}
	return time.Duration(float64(n-limit) / float64(limit) * float64(time.Second))
}
