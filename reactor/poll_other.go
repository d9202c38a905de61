//go:build !unix

package reactor

import "time"

// poller is the fallback for systems without a Unix poller (Windows):
// timers and posted calls work, and the loop sleeps on a channel.
type poller struct {
	wakeCh chan struct{}
	timer  *time.Timer
}

func (p *poller) init() error {
	p.wakeCh = make(chan struct{}, 1)
	return nil
}

func (p *poller) close() {}

// wake makes a sleeping wait return. It may be called from any goroutine.
func (p *poller) wake() {
	select {
	case p.wakeCh <- struct{}{}:
	default:
	}
}

func (p *poller) control(fd int, old, next interest) error {
	if next == 0 {
		return nil
	}
	return ErrNotSupported
}

// wait sleeps until woken or for up to timeout (for ever if negative); it
// reports no descriptor, as none is watched here.
func (p *poller) wait(timeout time.Duration) (int, error) {
	switch {
	case timeout == 0:
		select {
		case <-p.wakeCh:
		default:
		}
	case timeout < 0:
		<-p.wakeCh
	default:
		if p.timer == nil {
			p.timer = time.NewTimer(timeout)
		} else {
			p.timer.Reset(timeout)
		}
		select {
		case <-p.wakeCh:
			p.timer.Stop()
		case <-p.timer.C:
		}
	}
	return 0, nil
}

// event is never called: wait reports no event.
func (p *poller) event(int) (int, interest) { return -1, 0 }
