package policies

import (
	"net"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// recorder is a protocol that records what happens to it, with a
// MessageState its test sets.
type recorder struct {
	internet.BaseProtocol
	got     []byte
	lost    error
	partial bool
	pending int
}

func (r *recorder) DataReceived(b []byte)       { r.got = append(r.got, b...) }
func (r *recorder) ConnectionLost(reason error) { r.lost = reason }

// stateful is a recorder that implements MessageState.
type stateful struct{ recorder }

func (s *stateful) PartialMessage() bool { return s.partial }
func (s *stateful) Pending() int         { return s.pending }

func factoryOf(p internet.Protocol) internet.Factory {
	return internet.FactoryFunc(func(net.Addr) internet.Protocol { return p })
}

// connect builds f's protocol for a peer at addr and starts it on a fake
// transport that reports its loss.
func connect(t *testing.T, f internet.Factory, addr net.Addr) (internet.Protocol, *twisttest.StringTransportWithDisconnection) {
	t.Helper()
	p := f.BuildProtocol(addr)
	if p == nil {
		return nil, nil
	}
	tr := &twisttest.StringTransportWithDisconnection{Protocol: p}
	tr.PeerAddr = addr
	p.ConnectionMade(tr)
	return p, tr
}

var peerA = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1000}

func TestWrapperPassesThrough(t *testing.T) {
	inner := &recorder{}
	p, tr := connect(t, &WrappingFactory{Wrapped: factoryOf(inner)}, peerA)
	if inner.Transport != p.(internet.Transport) {
		t.Fatalf("the wrapped protocol's transport is %T, not the wrapper", inner.Transport)
	}
	p.DataReceived([]byte("in"))
	inner.Transport.Write([]byte("out"))
	inner.Transport.WriteSequence([][]byte{[]byte("1"), []byte("2")})
	if string(inner.got) != "in" || string(tr.Value()) != "out12" {
		t.Fatalf("read %q, wrote %q", inner.got, tr.Value())
	}
	if inner.Transport.RemoteAddr() != peerA {
		t.Errorf("RemoteAddr = %v", inner.Transport.RemoteAddr())
	}
	inner.Transport.LoseConnection()
	if inner.lost != internet.ErrConnectionDone {
		t.Errorf("ConnectionLost(%v)", inner.lost)
	}
}

func TestWrapperPauseReasonsCombine(t *testing.T) {
	inner := &recorder{}
	p, tr := connect(t, &WrappingFactory{Wrapped: factoryOf(inner)}, peerA)
	w := p.(*ProtocolWrapper)
	w.pauseReading(pausedByThrottle)
	inner.Transport.PauseProducing()
	inner.Transport.ResumeProducing() // the throttle still holds it
	if tr.ProducerState() != twisttest.Paused {
		t.Fatalf("after the wrapped protocol resumed: %v, want paused", tr.ProducerState())
	}
	w.resumeReading(pausedByThrottle)
	if tr.ProducerState() != twisttest.Producing {
		t.Fatalf("after every reason lifted: %v", tr.ProducerState())
	}
}

func TestTimeoutIdle(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &recorder{}
	p, tr := connect(t, Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Clock: clk}), peerA)
	clk.Advance(50 * time.Second)
	p.DataReceived([]byte("x")) // restarts the period
	clk.Advance(50 * time.Second)
	inner.Transport.Write([]byte("y")) // so does a write
	clk.Advance(59 * time.Second)
	if tr.Disconnecting() {
		t.Fatal("closed before a minute without activity")
	}
	clk.Advance(time.Second)
	if !tr.Disconnecting() || inner.lost == nil {
		t.Fatal("not closed after a minute without activity")
	}
	if len(clk.DelayedCalls()) != 0 {
		t.Errorf("timers left after the close: %v", clk.DelayedCalls())
	}
}

func TestTimeoutIdleWaitsForPending(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &stateful{}
	_, tr := connect(t, Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Clock: clk}), peerA)
	inner.pending = 1
	clk.Advance(10 * time.Minute)
	if tr.Disconnecting() {
		t.Fatal("closed while a request was pending")
	}
	inner.pending = 0
	clk.Advance(time.Minute)
	if !tr.Disconnecting() {
		t.Fatal("not closed a minute after nothing was pending")
	}
}

func TestTimeoutAbortsWhatDoesNotClose(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &recorder{}
	p := Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Clock: clk}).BuildProtocol(peerA)
	tr := &twisttest.StringTransport{} // its close never completes
	p.ConnectionMade(tr)
	clk.Advance(time.Minute)
	if !tr.Disconnecting() || tr.Aborted() {
		t.Fatalf("after one period: disconnecting %v, aborted %v; want a clean close", tr.Disconnecting(), tr.Aborted())
	}
	clk.Advance(time.Minute)
	if !tr.Aborted() {
		t.Fatal("not aborted a period after the close did not finish")
	}
}

func TestTimeoutRead(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &stateful{}
	p, tr := connect(t, Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Hour, Read: 30 * time.Second, Clock: clk}), peerA)
	inner.partial = true
	p.DataReceived([]byte("a"))
	for range 29 { // a byte a second does not restart the read time-out
		clk.Advance(time.Second)
		p.DataReceived([]byte("b"))
	}
	if tr.Disconnecting() {
		t.Fatal("closed before the read time-out")
	}
	clk.Advance(time.Second)
	if !tr.Disconnecting() {
		t.Fatal("a message begun 30 s ago and not finished did not close the connection")
	}
}

func TestTimeoutReadStopsWhenMessageEnds(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &stateful{}
	p, tr := connect(t, Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Hour, Read: 30 * time.Second, Clock: clk}), peerA)
	inner.partial = true
	p.DataReceived([]byte("a"))
	clk.Advance(20 * time.Second)
	inner.partial = false
	p.DataReceived([]byte("z"))
	clk.Advance(59 * time.Minute)
	if tr.Disconnecting() {
		t.Fatal("closed though the message finished")
	}
}

// Issue 11, finding 6: a connection that sends two bytes of a frame and
// stops was held forever; an idle one too.
func TestTimeoutHalfSentFrame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  []byte
		after time.Duration
	}{
		{"idle", nil, 5 * time.Minute},
		{"two bytes of a prefix", []byte{0, 0}, 30 * time.Second},
		{"half a string", []byte{0, 0, 0, 4, 'a', 'b'}, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := twisttest.NewClock()
			inner := &framed{}
			inner.Handler = inner
			p, tr := connect(t, Timeout(factoryOf(inner), TimeoutConfig{Idle: DefaultIdleTimeout, Read: DefaultReadTimeout, Clock: clk}), peerA)
			if tc.send != nil {
				p.DataReceived(tc.send)
			}
			clk.Advance(tc.after - time.Millisecond)
			if tr.Disconnecting() {
				t.Fatal("closed early")
			}
			clk.Advance(time.Millisecond)
			if !tr.Disconnecting() {
				t.Fatalf("still open after %v", tc.after)
			}
		})
	}
}

// framed is an Int32StringReceiver whose PartialMessage comes from package basic.
type framed struct{ basic.Int32StringReceiver }

func (*framed) StringReceived([]byte) {}
func (*framed) Pending() int          { return 0 }

func TestLimitTotalConnections(t *testing.T) {
	f := LimitTotalConnections(internet.FactoryFunc(func(net.Addr) internet.Protocol { return &recorder{} }), 2)
	_, a := connect(t, f, peerA)
	connect(t, f, peerA)
	if p, _ := connect(t, f, peerA); p != nil {
		t.Fatal("a third connection was admitted with a limit of 2")
	}
	a.LoseConnection()
	if p, _ := connect(t, f, peerA); p == nil {
		t.Fatal("refused after one of the two closed")
	}
	if n := f.Policy.(*ConnectionLimit).Count(); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
}

func TestLimitReleasesWhatTheFactoryRefuses(t *testing.T) {
	f := LimitTotalConnections(internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil }), 1)
	for range 3 {
		f.BuildProtocol(peerA)
	}
	if n := f.Policy.(*ConnectionLimit).Count(); n != 0 {
		t.Errorf("Count = %d after the wrapped factory refused every connection", n)
	}
}

func TestLimitConnectionsByPeer(t *testing.T) {
	f := LimitConnectionsByPeer(internet.FactoryFunc(func(net.Addr) internet.Protocol { return &recorder{} }), 1)
	peerB := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 2}
	_, a := connect(t, f, peerA)
	if p, _ := connect(t, f, mapped); p != nil {
		t.Fatal("a second connection from the same address (IPv4-mapped) was admitted")
	}
	if p, _ := connect(t, f, peerB); p == nil {
		t.Fatal("another address was refused")
	}
	unix := &net.UnixAddr{Name: "@", Net: "unix"}
	for range 3 {
		if p, _ := connect(t, f, unix); p == nil {
			t.Fatal("a Unix connection was refused")
		}
	}
	a.LoseConnection()
	if p, _ := connect(t, f, peerA); p == nil {
		t.Fatal("refused after the first connection closed")
	}
	pl := f.Policy.(*PeerLimit)
	pl.mu.Lock()
	n := len(pl.peers)
	pl.mu.Unlock()
	if n != 2 {
		t.Errorf("%d addresses tracked, want 2", n)
	}
}

func TestThrottleReads(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &recorder{}
	p, tr := connect(t, Throttle(factoryOf(inner), ThrottleConfig{ReadLimit: 100, Clock: clk}), peerA)
	p.DataReceived(make([]byte, 300)) // three seconds' worth
	clk.Advance(time.Second)
	if tr.ProducerState() != twisttest.Paused {
		t.Fatal("not paused after reading three times the rate")
	}
	clk.Advance(2*time.Second - time.Millisecond)
	if tr.ProducerState() != twisttest.Paused {
		t.Fatal("resumed before the excess took its time")
	}
	clk.Advance(time.Millisecond)
	if tr.ProducerState() != twisttest.Producing {
		t.Fatal("not resumed after the excess took its time")
	}
	p.DataReceived(make([]byte, 100)) // at the rate
	clk.Advance(time.Second)
	if tr.ProducerState() != twisttest.Producing {
		t.Fatal("paused at the rate")
	}
}

// producer is a push producer that records its state.
type producer struct{ paused bool }

func (p *producer) PauseProducing()  { p.paused = true }
func (p *producer) ResumeProducing() { p.paused = false }
func (p *producer) StopProducing()   {}

func TestThrottleWrites(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &recorder{}
	connect(t, Throttle(factoryOf(inner), ThrottleConfig{WriteLimit: 10, Clock: clk}), peerA)
	prod := &producer{}
	inner.Transport.RegisterProducer(prod, true)
	inner.Transport.Write(make([]byte, 25))
	clk.Advance(time.Second)
	if !prod.paused {
		t.Fatal("the producer was not paused after writing 2.5 times the rate")
	}
	clk.Advance(1500 * time.Millisecond)
	if prod.paused {
		t.Fatal("the producer was not resumed")
	}
}

func TestLimitQueuedOutput(t *testing.T) {
	inner := &recorder{}
	_, tr := connect(t, LimitQueuedOutput(factoryOf(inner)), peerA)
	watch, ok := tr.Producer().(internet.PushProducer)
	if !ok || !tr.Streaming() {
		t.Fatalf("registered producer %T, streaming %v", tr.Producer(), tr.Streaming())
	}
	watch.PauseProducing() // the queue passed its high-water mark
	if tr.ProducerState() != twisttest.Paused {
		t.Fatal("reading not paused above the high-water mark")
	}
	inner.Transport.PauseProducing()
	watch.ResumeProducing()
	if tr.ProducerState() != twisttest.Paused {
		t.Fatal("the drained queue resumed reading the wrapped protocol had paused")
	}
	inner.Transport.ResumeProducing()
	if tr.ProducerState() != twisttest.Producing {
		t.Fatal("not resumed")
	}

	prod := &producer{}
	if err := inner.Transport.RegisterProducer(prod, true); err != nil {
		t.Fatal(err)
	}
	if tr.Producer() != prod {
		t.Fatalf("the wrapped protocol's producer is not the transport's: %T", tr.Producer())
	}
	inner.Transport.UnregisterProducer()
	if tr.Producer() != watch {
		t.Fatalf("the watch did not come back after the producer left: %T", tr.Producer())
	}
	inner.Transport.LoseConnection()
	if tr.Producer() != nil {
		t.Fatal("a producer left registered would keep the connection from closing")
	}
}

// Policies nest, and the time-out finds the MessageState under another wrapper.
func TestNestedPolicies(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &stateful{}
	f := LimitTotalConnections(LimitQueuedOutput(Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Clock: clk})), 1)
	_, tr := connect(t, f, peerA)
	inner.pending = 1
	clk.Advance(time.Hour)
	if tr.Disconnecting() {
		t.Fatal("closed with a request pending")
	}
	inner.pending = 0
	clk.Advance(time.Minute)
	if !tr.Disconnecting() {
		t.Fatal("not closed when idle")
	}
	if n := f.Policy.(*ConnectionLimit).Count(); n != 0 {
		t.Errorf("Count = %d after the close", n)
	}
}

// A protocol that registered a producer is closed by a time-out all the
// same: the producer is unregistered first, as the transport waits for it.
func TestTimeoutUnregistersProducer(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &recorder{}
	p := Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Minute, Clock: clk}).BuildProtocol(peerA)
	tr := &twisttest.StringTransport{}
	p.ConnectionMade(tr)
	inner.Transport.RegisterProducer(&producer{}, true)
	clk.Advance(time.Minute)
	if !tr.Disconnecting() || tr.Producer() != nil {
		t.Fatalf("disconnecting %v, producer %v: the close would wait for ever", tr.Disconnecting(), tr.Producer())
	}
	inner.Transport.UnregisterProducer() // what the protocol does when lost: harmless now
}

// The read time-out works for a receiver that reports only PartialMessage.
func TestTimeoutReadWithoutPending(t *testing.T) {
	clk := twisttest.NewClock()
	inner := &onlyPartial{}
	inner.Handler = inner
	p, tr := connect(t, Timeout(factoryOf(inner), TimeoutConfig{Idle: time.Hour, Read: 30 * time.Second, Clock: clk}), peerA)
	p.DataReceived([]byte{0, 0})
	clk.Advance(30 * time.Second)
	if !tr.Disconnecting() {
		t.Fatal("half a prefix was held past the read time-out")
	}
}

type onlyPartial struct{ basic.Int32StringReceiver }

func (*onlyPartial) StringReceived([]byte) {}

// closer writes and closes as soon as it is connected, as a poetry server does.
type closer struct{ internet.BaseProtocol }

func (c *closer) ConnectionMade(t internet.Transport) {
	t.Write([]byte("bye"))
	t.LoseConnection()
	t.UnregisterProducer() // after the close: must not bring the watch back
}

func TestLimitQueuedOutputLetsAnEarlyCloseFinish(t *testing.T) {
	_, tr := connect(t, LimitQueuedOutput(factoryOf(&closer{})), peerA)
	if !tr.Disconnecting() || tr.Producer() != nil {
		t.Fatalf("disconnecting %v, producer %T: the close would wait for ever", tr.Disconnecting(), tr.Producer())
	}
}

// pullingTransport asks a pull producer for data as soon as it is
// registered, as internet.Conn does.
type pullingTransport struct {
	*twisttest.StringTransportWithDisconnection
}

func (t pullingTransport) RegisterProducer(p internet.Producer, streaming bool) error {
	if err := t.StringTransportWithDisconnection.RegisterProducer(p, streaming); err != nil {
		return err
	}
	if !streaming {
		p.(internet.PullProducer).ResumeProducing()
	}
	return nil
}

// onePull registers a pull producer that is done at its first pull, inside
// the registration: it writes, unregisters and closes (a small static file
// sent with Connection: close).
type onePull struct {
	internet.BaseProtocol
	t internet.Transport
}

func (p *onePull) ConnectionMade(t internet.Transport) { p.t = t; t.RegisterProducer(p, false) }
func (p *onePull) StopProducing()                      {}
func (p *onePull) ResumeProducing() {
	p.t.Write([]byte("all"))
	p.t.UnregisterProducer()
	p.t.LoseConnection()
}

// A producer that unregisters from within RegisterProducer is unregistered
// from the transport too: else the close waits on it for ever (found by
// the soak: twistd web held every small file's Connection: close until the
// idle time-out, and refused the next file on a keep-alive connection).
func TestWrapperProducerUnregisteredWhileRegistering(t *testing.T) {
	p := LimitQueuedOutput(factoryOf(&onePull{})).BuildProtocol(peerA)
	tr := pullingTransport{&twisttest.StringTransportWithDisconnection{Protocol: p}}
	p.ConnectionMade(tr)
	if tr.Producer() != nil || !tr.Disconnecting() || string(tr.Value()) != "all" {
		t.Fatalf("producer %T, disconnecting %v, output %q: the close would wait for ever", tr.Producer(), tr.Disconnecting(), tr.Value())
	}
}
