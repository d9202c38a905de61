package policies

import "github.com/twistgo/twist/internet"

// LimitQueuedOutput returns f's protocols wrapped so that a connection stops
// reading while its queued output is above its transport's high-water mark,
// and reads again once it has drained to the low-water mark: a peer that
// sends requests and does not read the answers is held to one buffer of
// them, instead of filling the queue to its hard limit. The marks are the
// listener's (internet.WithWriteLimits; 64 KiB and 16 KiB by default).
//
// A wrapped protocol that registers a producer of its own is paused at the
// same mark instead, and must itself stop reading while paused.
func LimitQueuedOutput(f internet.Factory) *WrappingFactory {
	return &WrappingFactory{Wrapped: f, Policy: outputPolicy{}}
}

type outputPolicy struct{ admitAll }

func (outputPolicy) Wrap(w *ProtocolWrapper) Wrapper {
	w.out = &outputWatch{}
	return &outputProtocol{w}
}

// outputProtocol registers the wrapper's output watch as the connection
// starts; the wrapped protocol's own producer takes its place.
type outputProtocol struct{ *ProtocolWrapper }

func (p *outputProtocol) ConnectionMade(t internet.Transport) {
	// First: a protocol that writes and closes in ConnectionMade must find
	// the watch registered, so that its close unregisters it.
	p.Transport = t
	p.out.register(p.ProtocolWrapper)
	p.ProtocolWrapper.ConnectionMade(t)
}

// outputWatch is the push producer a wrapper registers with its transport,
// so that the transport's flow control pauses the wrapper's reading.
type outputWatch struct {
	w          *ProtocolWrapper
	registered bool
}

// register makes o the transport's producer, if no producer is registered.
// It does nothing on a nil o: the wrapper has no output limit.
func (o *outputWatch) register(w *ProtocolWrapper) {
	if o == nil || o.registered || w.producer != nil || w.lost || w.closing {
		return
	}
	o.w = w
	o.registered = w.Transport.RegisterProducer(o, true) == nil
}

// unregister removes o as the transport's producer, and lifts its pause.
func (o *outputWatch) unregister(w *ProtocolWrapper) {
	if o == nil || !o.registered {
		return
	}
	o.registered = false
	w.Transport.UnregisterProducer()
	w.resumeReading(pausedByOutput)
}

func (o *outputWatch) PauseProducing()  { o.w.pauseReading(pausedByOutput) }
func (o *outputWatch) ResumeProducing() { o.w.resumeReading(pausedByOutput) }
func (o *outputWatch) StopProducing()   {}
