package twisttest

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/twistgo/twist/internet"
)

// mustPanic runs f and returns the message it panicked with.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		msg, _ = r.(string)
	}()
	f()
	return ""
}

func TestStringTransportRecordsWrites(t *testing.T) {
	var tr StringTransport
	if n, err := tr.Write([]byte("hello ")); n != 6 || err != nil {
		t.Fatalf("Write = %d, %v; want 6, nil", n, err)
	}
	if err := tr.WriteSequence([][]byte{[]byte("big "), []byte("world")}); err != nil {
		t.Fatalf("WriteSequence: %v", err)
	}
	if got := string(tr.Value()); got != "hello big world" {
		t.Fatalf("Value = %q", got)
	}
}

func TestStringTransportValueIsACopy(t *testing.T) {
	var tr StringTransport
	tr.Write([]byte("abc"))
	v := tr.Value()
	v[0] = 'X'
	tr.Write([]byte("d"))
	if got := string(tr.Value()); got != "abcd" {
		t.Fatalf("Value = %q after changing an earlier Value", got)
	}
}

func TestStringTransportClearDiscardsWrites(t *testing.T) {
	var tr StringTransport
	tr.Write([]byte("old"))
	tr.Clear()
	tr.Write([]byte("new"))
	if got := string(tr.Value()); got != "new" {
		t.Fatalf("Value = %q", got)
	}
}

func TestStringTransportClose(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		close                  func(*StringTransport)
		disconnecting, aborted bool
	}{
		{"open", func(*StringTransport) {}, false, false},
		{"LoseConnection", (*StringTransport).LoseConnection, true, false},
		{"AbortConnection", (*StringTransport).AbortConnection, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr StringTransport
			tc.close(&tr)
			if tr.Disconnecting() != tc.disconnecting || tr.Aborted() != tc.aborted {
				t.Fatalf("Disconnecting, Aborted = %v, %v; want %v, %v",
					tr.Disconnecting(), tr.Aborted(), tc.disconnecting, tc.aborted)
			}
		})
	}
}

func TestStringTransportRefusesWritesAfterClose(t *testing.T) {
	for _, closeFn := range []func(*StringTransport){(*StringTransport).LoseConnection, (*StringTransport).AbortConnection} {
		var tr StringTransport
		tr.Write([]byte("before"))
		closeFn(&tr)
		if _, err := tr.Write([]byte("after")); !errors.Is(err, internet.ErrConnectionClosed) {
			t.Errorf("Write after close: %v, want ErrConnectionClosed", err)
		}
		if err := tr.WriteSequence([][]byte{[]byte("after")}); !errors.Is(err, internet.ErrConnectionClosed) {
			t.Errorf("WriteSequence after close: %v, want ErrConnectionClosed", err)
		}
		if got := string(tr.Value()); got != "before" {
			t.Errorf("Value = %q, want only what was written before closing", got)
		}
	}
}

func TestStringTransportDefaultAddresses(t *testing.T) {
	var tr StringTransport
	if got := tr.LocalAddr().String(); got != "10.0.0.1:12345" {
		t.Errorf("LocalAddr = %s", got)
	}
	if got := tr.RemoteAddr().String(); got != "192.168.1.1:54321" {
		t.Errorf("RemoteAddr = %s", got)
	}
	if _, ok := tr.RemoteAddr().(*net.TCPAddr); !ok {
		t.Errorf("RemoteAddr is a %T, want *net.TCPAddr", tr.RemoteAddr())
	}
}

func TestStringTransportConfiguredAddresses(t *testing.T) {
	host := &net.UnixAddr{Name: "/tmp/host.sock", Net: "unix"}
	peer := &net.TCPAddr{IP: net.IPv6loopback, Port: 80}
	tr := StringTransport{HostAddr: host, PeerAddr: peer}
	if tr.LocalAddr() != host || tr.RemoteAddr() != peer {
		t.Fatalf("addresses = %v, %v; want %v, %v", tr.LocalAddr(), tr.RemoteAddr(), host, peer)
	}
}

type nopProducer struct{}

func (nopProducer) StopProducing() {}

func TestStringTransportProducerRegistration(t *testing.T) {
	var tr StringTransport
	p := &nopProducer{}
	if err := tr.RegisterProducer(p, true); err != nil {
		t.Fatalf("RegisterProducer: %v", err)
	}
	if tr.Producer() != p || !tr.Streaming() {
		t.Fatalf("Producer, Streaming = %v, %v", tr.Producer(), tr.Streaming())
	}
	if err := tr.RegisterProducer(&nopProducer{}, false); !errors.Is(err, internet.ErrProducerRegistered) {
		t.Fatalf("second RegisterProducer: %v, want ErrProducerRegistered", err)
	}
	tr.UnregisterProducer()
	if tr.Producer() != nil || tr.Streaming() {
		t.Fatalf("after UnregisterProducer: Producer, Streaming = %v, %v", tr.Producer(), tr.Streaming())
	}
	if err := tr.RegisterProducer(p, false); err != nil || tr.Streaming() {
		t.Fatalf("RegisterProducer after unregistering: %v, streaming %v", err, tr.Streaming())
	}
}

func TestStringTransportUnregisterWithoutProducerPanics(t *testing.T) {
	var tr StringTransport
	if msg := mustPanic(t, tr.UnregisterProducer); !strings.Contains(msg, "no producer") {
		t.Fatalf("panic %q", msg)
	}
}

func TestStringTransportProducerState(t *testing.T) {
	var tr StringTransport
	steps := []struct {
		call func()
		want ProducerState
	}{
		{func() {}, Producing},
		{tr.PauseProducing, Paused},
		{tr.PauseProducing, Paused},
		{tr.ResumeProducing, Producing},
		{tr.StopProducing, Stopped},
		{tr.StopProducing, Stopped},
	}
	for i, s := range steps {
		s.call()
		if got := tr.ProducerState(); got != s.want {
			t.Fatalf("step %d: state %v, want %v", i, got, s.want)
		}
	}
}

func TestStringTransportProducerMisusePanics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*StringTransport)
		call  func(*StringTransport)
		want  string
	}{
		{"resume after stop", (*StringTransport).StopProducing, (*StringTransport).ResumeProducing, "ResumeProducing after StopProducing"},
		{"pause after stop", (*StringTransport).StopProducing, (*StringTransport).PauseProducing, "PauseProducing after StopProducing"},
		{"resume after lose", (*StringTransport).LoseConnection, (*StringTransport).ResumeProducing, "ResumeProducing after LoseConnection"},
		{"pause after abort", (*StringTransport).AbortConnection, (*StringTransport).PauseProducing, "PauseProducing after LoseConnection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr StringTransport
			tc.setup(&tr)
			if msg := mustPanic(t, func() { tc.call(&tr) }); !strings.Contains(msg, tc.want) {
				t.Fatalf("panic %q, want it to mention %q", msg, tc.want)
			}
		})
	}
}

func TestStringTransportLenientAllowsResumeAfterClose(t *testing.T) {
	tr := StringTransport{Lenient: true}
	tr.LoseConnection()
	tr.PauseProducing()
	tr.ResumeProducing()
	if tr.ProducerState() != Producing {
		t.Fatalf("state %v", tr.ProducerState())
	}
}

func TestProducerStateString(t *testing.T) {
	for s, want := range map[ProducerState]string{Producing: "producing", Paused: "paused", Stopped: "stopped", 7: "ProducerState(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
}

// lossRecorder is a protocol that records the reasons of ConnectionLost.
type lossRecorder struct {
	internet.BaseProtocol
	reasons []error
}

func (p *lossRecorder) ConnectionLost(reason error) { p.reasons = append(p.reasons, reason) }

var errOwnReason = errors.New("the protocol's own reason")

func TestStringTransportWithDisconnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		calls []func(*StringTransportWithDisconnection)
		want  error
	}{
		{"lose", []func(*StringTransportWithDisconnection){(*StringTransportWithDisconnection).LoseConnection}, internet.ErrConnectionDone},
		{"lose twice", []func(*StringTransportWithDisconnection){(*StringTransportWithDisconnection).LoseConnection, (*StringTransportWithDisconnection).LoseConnection}, internet.ErrConnectionDone},
		{"abort", []func(*StringTransportWithDisconnection){(*StringTransportWithDisconnection).AbortConnection}, internet.ErrConnectionLost},
		{"abort after lose", []func(*StringTransportWithDisconnection){(*StringTransportWithDisconnection).LoseConnection, (*StringTransportWithDisconnection).AbortConnection}, internet.ErrConnectionDone},
		{"abort with a reason", []func(*StringTransportWithDisconnection){func(t *StringTransportWithDisconnection) { t.AbortConnectionWith(errOwnReason) }}, errOwnReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &lossRecorder{}
			tr := &StringTransportWithDisconnection{Protocol: p}
			p.ConnectionMade(tr)
			for _, call := range tc.calls {
				call(tr)
			}
			if len(p.reasons) != 1 || p.reasons[0] != tc.want {
				t.Fatalf("ConnectionLost reasons %v, want exactly [%v]", p.reasons, tc.want)
			}
			if !tr.Disconnecting() {
				t.Fatal("Disconnecting() = false after closing")
			}
		})
	}
}
