package poetry

import (
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

func TestSlowServerSendsChunksOnTheClock(t *testing.T) {
	clk := twisttest.NewClock()
	f := &ServerFactory{Poem: []byte("Tyger Tyger, burning"), Clock: clk, Chunk: 8, Delay: time.Second}
	tr := &twisttest.StringTransport{}
	f.BuildProtocol(nil).ConnectionMade(tr)
	for _, want := range []string{"Tyger Ty", "Tyger Tyger, bur", "Tyger Tyger, burning"} {
		if got := string(tr.Value()); got != want || tr.Disconnecting() {
			t.Fatalf("at %vs: sent %q (closing %v), want %q", clk.Seconds(), got, tr.Disconnecting(), want)
		}
		clk.Advance(time.Second)
	}
	if !tr.Disconnecting() || len(clk.DelayedCalls()) != 0 {
		t.Fatalf("after the poem: closing %v, pending calls %d", tr.Disconnecting(), len(clk.DelayedCalls()))
	}
}

func TestSlowServerStopsWhenTheClientGoes(t *testing.T) {
	clk := twisttest.NewClock()
	f := &ServerFactory{Poem: []byte("Tyger Tyger, burning"), Clock: clk, Chunk: 8, Delay: time.Second}
	p := f.BuildProtocol(nil)
	p.ConnectionMade(&twisttest.StringTransport{})
	p.ConnectionLost(internet.ErrConnectionDone)
	if n := len(clk.DelayedCalls()); n != 0 {
		t.Fatalf("%d calls pending after the client went", n)
	}
}

func TestFastServerSendsAllAndCloses(t *testing.T) {
	var log strings.Builder
	f := &ServerFactory{Poem: []byte("a poem"), Log: &log}
	tr := &twisttest.StringTransport{}
	f.BuildProtocol(nil).ConnectionMade(tr)
	if string(tr.Value()) != "a poem" || !tr.Disconnecting() {
		t.Fatalf("sent %q, closing %v", tr.Value(), tr.Disconnecting())
	}
	if want := "sending 6 bytes of poetry to 192.168.1.1:54321\n"; log.String() != want {
		t.Fatalf("log %q, want %q", log.String(), want)
	}
}

func TestGet(t *testing.T) {
	m := twisttest.NewMemoryReactorClock()
	var pieces []int
	d := Get(m, "127.0.0.1:10000", func(n int) { pieces = append(pieces, n) })
	c := m.TCPClients[0]
	p := c.Complete(&twisttest.StringTransport{})
	p.DataReceived([]byte("Tyger "))
	p.DataReceived([]byte("Tyger"))
	twisttest.AssertNoResult(t, d)
	c.Lose(internet.ErrConnectionDone)
	if got := twisttest.SuccessResultOf(t, d); got != "Tyger Tyger" || len(pieces) != 2 || pieces[0] != 6 {
		t.Fatalf("Get = %q, progress %v", got, pieces)
	}
}

func TestGetFails(t *testing.T) {
	m := twisttest.NewMemoryReactorClock()
	d := Get(m, "127.0.0.1:10000", nil)
	m.TCPClients[0].Fail(internet.ErrConnectionRefused)
	twisttest.FailureResultOf(t, d, internet.ErrConnectionRefused)
}

func TestCancelGet(t *testing.T) {
	t.Run("connecting", func(t *testing.T) {
		m := twisttest.NewMemoryReactorClock()
		d := Get(m, "127.0.0.1:10000", nil)
		d.Cancel()
		twisttest.FailureResultOf(t, d, deferred.ErrCancelled)
		if m.TCPClients[0].State() != internet.Disconnected {
			t.Fatal("the attempt was not stopped")
		}
	})
	t.Run("connected", func(t *testing.T) {
		m := twisttest.NewMemoryReactorClock()
		d := Get(m, "127.0.0.1:10000", nil)
		tr := &twisttest.StringTransport{}
		m.TCPClients[0].Complete(tr)
		d.Cancel()
		twisttest.FailureResultOf(t, d, deferred.ErrCancelled)
		if !tr.Disconnecting() {
			t.Fatal("the connection was not closed")
		}
		m.TCPClients[0].Lose(internet.ErrConnectionDone) // ignored: d has its result
	})
}

func TestTransformServer(t *testing.T) {
	tests := []struct {
		name, request, want string
	}{
		{"cummingsify", "23:cummingsify.Tyger TYGER,", "11:tyger tyger,"},
		{"unknown transform", "11:shout.Tyger,", ""},
		{"no dot", "5:Tyger,", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &twisttest.StringTransport{}
			p := (&TransformFactory{}).BuildProtocol(nil)
			p.ConnectionMade(tr)
			p.DataReceived([]byte(tt.request))
			if string(tr.Value()) != tt.want || !tr.Disconnecting() {
				t.Fatalf("answer %q (closing %v), want %q", tr.Value(), tr.Disconnecting(), tt.want)
			}
		})
	}
}

func TestXform(t *testing.T) {
	tests := []struct {
		name    string
		play    func(c *twisttest.MemoryConnector, tr *twisttest.StringTransport)
		want    any
		wantErr error
	}{
		{"answered", func(c *twisttest.MemoryConnector, tr *twisttest.StringTransport) {
			c.Complete(tr).DataReceived([]byte("5:tyger,"))
			c.Lose(internet.ErrConnectionDone)
		}, "tyger", nil},
		{"no answer", func(c *twisttest.MemoryConnector, tr *twisttest.StringTransport) {
			c.Complete(tr)
			c.Lose(internet.ErrConnectionDone)
		}, nil, ErrNoTransform},
		{"refused", func(c *twisttest.MemoryConnector, tr *twisttest.StringTransport) {
			c.Fail(internet.ErrConnectionRefused)
		}, nil, internet.ErrConnectionRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := twisttest.NewMemoryReactorClock()
			d := Xform(m, "127.0.0.1:10001", "cummingsify", "Tyger")
			tr := &twisttest.StringTransport{}
			tt.play(m.TCPClients[0], tr)
			if tt.wantErr != nil {
				twisttest.FailureResultOf(t, d, tt.wantErr)
				return
			}
			if got := twisttest.SuccessResultOf(t, d); got != tt.want {
				t.Fatalf("Xform = %v, want %v", got, tt.want)
			}
			if string(tr.Value()) != "17:cummingsify.Tyger," {
				t.Fatalf("request %q", tr.Value())
			}
		})
	}
}

func TestAddress(t *testing.T) {
	tests := []struct{ arg, want, err string }{
		{"10000", "127.0.0.1:10000", ""},
		{"example.org:10000", "example.org:10000", ""},
		{"[::1]:10000", "[::1]:10000", ""},
		{"poem", "", "ports must be integers"},
		{"host:99999", "", "ports must be integers"},
	}
	for _, tt := range tests {
		got, err := Address(tt.arg)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Address(%q) = %q, %v; want %q, %q", tt.arg, got, err, tt.want, tt.err)
		}
	}
}
