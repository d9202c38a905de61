package twisttest_test

import (
	"errors"
	"net"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

var (
	_ internet.Net           = (*twisttest.MemoryReactorClock)(nil)
	_ internet.ListeningPort = (*internet.Port)(nil)
)

// teller writes msg and hangs up.
type teller struct {
	internet.BaseProtocol
	msg string
}

func (p *teller) ConnectionMade(t internet.Transport) {
	t.Write([]byte(p.msg))
	t.LoseConnection()
}

// recorder keeps what it receives and how its connection went.
type recorder struct {
	internet.BaseProtocol
	got  []byte
	made bool
	lost error
}

func (p *recorder) ConnectionMade(t internet.Transport) {
	p.BaseProtocol.ConnectionMade(t)
	p.made = true
}

func (p *recorder) DataReceived(data []byte) { p.got = append(p.got, data...) }

func (p *recorder) ConnectionLost(reason error) { p.lost = reason }

// recordingFactory builds one recorder and records what its connector
// tells it, and which connector did; lost fires with the reason of the
// failure or the loss.
type recordingFactory struct {
	started      int
	conns        []internet.Connector
	addr         net.Addr
	proto        *recorder
	failed, gone error
	lost         *deferred.Deferred
}

func newRecordingFactory() *recordingFactory { return &recordingFactory{lost: deferred.New()} }

func (f *recordingFactory) BuildProtocol(addr net.Addr) internet.Protocol {
	f.addr, f.proto = addr, &recorder{}
	return f.proto
}

func (f *recordingFactory) StartedConnecting(c internet.Connector) {
	f.started++
	f.conns = append(f.conns, c)
}

func (f *recordingFactory) ClientConnectionFailed(c internet.Connector, reason error) {
	f.conns = append(f.conns, c)
	f.failed = reason
	f.lost.Callback(reason)
}

func (f *recordingFactory) ClientConnectionLost(c internet.Connector, reason error) {
	f.conns = append(f.conns, c)
	f.gone = reason
	f.lost.Callback(reason)
}

// toldBy reports whether every call to f came from c, and there were n.
func (f *recordingFactory) toldBy(c internet.Connector, n int) bool {
	for _, got := range f.conns {
		if got != c {
			return false
		}
	}
	return len(f.conns) == n
}

func TestMemoryReactorListen(t *testing.T) {
	tests := []struct {
		name, addr, want string
		listen           func(m *twisttest.MemoryReactor, addr string, f internet.Factory, opts ...internet.ListenOption) (internet.ListeningPort, error)
		servers          func(m *twisttest.MemoryReactor) []*twisttest.MemoryPort
	}{
		{"tcp", "127.0.0.1:10000", "127.0.0.1:10000", (*twisttest.MemoryReactor).ListenTCP, func(m *twisttest.MemoryReactor) []*twisttest.MemoryPort { return m.TCPServers }},
		{"tcp any host", ":0", "0.0.0.0:0", (*twisttest.MemoryReactor).ListenTCP, func(m *twisttest.MemoryReactor) []*twisttest.MemoryPort { return m.TCPServers }},
		{"tcp host name", "localhost:80", "localhost:80", (*twisttest.MemoryReactor).ListenTCP, func(m *twisttest.MemoryReactor) []*twisttest.MemoryPort { return m.TCPServers }},
		{"unix", "/tmp/poetry.sock", "/tmp/poetry.sock", (*twisttest.MemoryReactor).ListenUnix, func(m *twisttest.MemoryReactor) []*twisttest.MemoryPort { return m.UnixServers }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &twisttest.MemoryReactor{}
			var built net.Addr
			f := internet.FactoryFunc(func(addr net.Addr) internet.Protocol {
				built = addr
				return &teller{msg: "poem"}
			})
			p, err := tt.listen(m, tt.addr, f)
			servers := tt.servers(m)
			if err != nil || len(servers) != 1 || servers[0] != p || servers[0].Address != tt.addr {
				t.Fatalf("Listen = %v, %v; recorded %v", p, err, servers)
			}
			if got := p.Addr().String(); got != tt.want {
				t.Errorf("Addr = %q, want %q", got, tt.want)
			}
			tr := &twisttest.StringTransport{}
			if servers[0].Accept(tr) == nil || string(tr.Value()) != "poem" || !tr.Disconnecting() {
				t.Errorf("Accept: wrote %q, disconnecting %v", tr.Value(), tr.Disconnecting())
			}
			if built.String() != tr.RemoteAddr().String() {
				t.Errorf("BuildProtocol got %v, want the peer %v", built, tr.RemoteAddr())
			}
			if servers[0].Stopped() {
				t.Fatal("stopped before StopListening")
			}
			twisttest.SuccessResultOf(t, p.StopListening())
			if !servers[0].Stopped() {
				t.Fatal("not stopped after StopListening")
			}
		})
	}
}

func TestMemoryPortAcceptRefused(t *testing.T) {
	m := &twisttest.MemoryReactor{}
	m.ListenTCP(":1", internet.FactoryFunc(func(net.Addr) internet.Protocol { return nil }))
	if p := m.TCPServers[0].Accept(&twisttest.StringTransport{}); p != nil {
		t.Fatalf("Accept = %v, want nil from a refusing factory", p)
	}
}

func TestMemoryConnectorCompleteAndLose(t *testing.T) {
	m := twisttest.NewMemoryReactorClock()
	f := newRecordingFactory()
	c := m.ConnectTCP("10.1.2.3:10000", f)
	if f.started != 1 || c.State() != internet.Connecting || len(m.TCPClients) != 1 || m.TCPClients[0] != c {
		t.Fatalf("after ConnectTCP: started %d, state %v, recorded %v", f.started, c.State(), m.TCPClients)
	}
	if got := c.DestinationAddr().String(); got != "10.1.2.3:10000" {
		t.Errorf("DestinationAddr = %q", got)
	}
	tr := &twisttest.StringTransport{}
	p := m.TCPClients[0].Complete(tr)
	if p != f.proto || !f.proto.made || c.State() != internet.Connected || c.Transport() != tr || m.TCPClients[0].Protocol() != p {
		t.Fatalf("after Complete: made %v, state %v", f.proto.made, c.State())
	}
	if f.addr != c.DestinationAddr() {
		t.Errorf("BuildProtocol got %v, want the destination", f.addr)
	}
	c.Disconnect()
	if !tr.Disconnecting() || c.State() != internet.Connected {
		t.Fatalf("Disconnect: transport disconnecting %v, state %v", tr.Disconnecting(), c.State())
	}
	m.TCPClients[0].Lose(internet.ErrConnectionDone)
	if f.proto.lost != internet.ErrConnectionDone || f.gone != internet.ErrConnectionDone || c.State() != internet.Disconnected || c.Transport() != nil {
		t.Fatalf("after Lose: protocol %v, factory %v, state %v", f.proto.lost, f.gone, c.State())
	}
	if !f.toldBy(c, 2) {
		t.Errorf("the factory was told by %v, want twice by the connector", f.conns)
	}
}

func TestMemoryConnectorConnectStartsANewAttempt(t *testing.T) {
	m := &twisttest.MemoryReactor{}
	f := newRecordingFactory()
	m.ConnectTCP("10.1.2.3:10000", f)
	c := m.TCPClients[0]
	if err := c.Connect(); err != internet.ErrConnectorBusy || c.Attempts() != 1 {
		t.Fatalf("Connect while connecting = %v, %d attempts", err, c.Attempts())
	}
	c.Fail(internet.ErrConnectionRefused)
	if err := c.Connect(); err != nil || c.State() != internet.Connecting || c.Attempts() != 2 || f.started != 2 {
		t.Fatalf("Connect after Fail = %v: state %v, %d attempts, started %d times", err, c.State(), c.Attempts(), f.started)
	}
	c.Complete(&twisttest.StringTransport{})
	if err := c.Connect(); err != internet.ErrConnectorBusy || c.Attempts() != 2 {
		t.Fatalf("Connect while connected = %v, %d attempts", err, c.Attempts())
	}
	if !f.toldBy(c, 3) {
		t.Errorf("the factory was told by %v, want three times by the connector", f.conns)
	}
}

func TestMemoryConnectorFailures(t *testing.T) {
	tests := []struct {
		name string
		end  func(c *twisttest.MemoryConnector)
		want error
	}{
		{"Fail", func(c *twisttest.MemoryConnector) { c.Fail(internet.ErrConnectionRefused) }, internet.ErrConnectionRefused},
		{"StopConnecting", func(c *twisttest.MemoryConnector) {
			if err := c.StopConnecting(); err != nil {
				panic(err)
			}
		}, internet.ErrConnectingStopped},
		{"Disconnect", (*twisttest.MemoryConnector).Disconnect, internet.ErrConnectingStopped},
		{"refused by the factory", func(c *twisttest.MemoryConnector) {
			c.Factory = &nilFactory{c.Factory}
			if c.Complete(&twisttest.StringTransport{}) != nil {
				panic("Complete returned a protocol")
			}
		}, internet.ErrConnectFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &twisttest.MemoryReactor{}
			f := newRecordingFactory()
			m.ConnectUnix("/tmp/poetry.sock", f)
			c := m.UnixClients[0]
			tt.end(c)
			if !errors.Is(f.failed, tt.want) || c.State() != internet.Disconnected {
				t.Fatalf("failed with %v, state %v; want %v", f.failed, c.State(), tt.want)
			}
			if err := c.StopConnecting(); err != internet.ErrNotConnecting {
				t.Fatalf("StopConnecting after the end = %v", err)
			}
		})
	}
}

// nilFactory refuses every connection.
type nilFactory struct{ internet.ClientFactory }

func (nilFactory) BuildProtocol(net.Addr) internet.Protocol { return nil }

func TestMemoryConnectorPanicsOutOfTurn(t *testing.T) {
	tests := []struct {
		name string
		f    func(c *twisttest.MemoryConnector)
	}{
		{"Lose while connecting", func(c *twisttest.MemoryConnector) { c.Lose(internet.ErrConnectionDone) }},
		{"Complete twice", func(c *twisttest.MemoryConnector) {
			c.Complete(&twisttest.StringTransport{})
			c.Complete(&twisttest.StringTransport{})
		}},
		{"Fail when connected", func(c *twisttest.MemoryConnector) {
			c.Complete(&twisttest.StringTransport{})
			c.Fail(internet.ErrConnectionRefused)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &twisttest.MemoryReactor{}
			m.ConnectTCP("127.0.0.1:1", newRecordingFactory())
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.f(m.TCPClients[0])
		})
	}
}

// udpRecorder records what happens to a datagram protocol.
type udpRecorder struct {
	internet.BaseDatagramProtocol
	got     []string
	stopped int
}

func (p *udpRecorder) DatagramReceived(data []byte, addr net.Addr) {
	p.got = append(p.got, string(data)+" from "+addr.String())
}

func (p *udpRecorder) StopProtocol() { p.stopped++ }

func TestMemoryReactorUDP(t *testing.T) {
	m := &twisttest.MemoryReactor{}
	p := &udpRecorder{}
	tr, err := m.ListenUDP("127.0.0.1:5353", p, internet.WithBroadcast())
	u := m.UDPPorts[0]
	if err != nil || tr != u || p.Transport != u || len(u.Options) != 1 || u.LocalAddr().String() != "127.0.0.1:5353" {
		t.Fatalf("ListenUDP = %v, %v; started with %v", tr, err, p.Transport)
	}
	if err := tr.Write([]byte("x")); err != internet.ErrUDPNotConnected {
		t.Errorf("Write before Connect = %v", err)
	}
	peer := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 53}
	tr.WriteTo([]byte("query"), peer)
	if err := tr.Connect("10.0.0.3:53"); err != nil || tr.RemoteAddr().String() != "10.0.0.3:53" {
		t.Fatalf("Connect = %v, remote %v", err, tr.RemoteAddr())
	}
	if err := tr.Connect("10.0.0.4:53"); err != internet.ErrUDPConnected {
		t.Errorf("second Connect = %v", err)
	}
	tr.Write([]byte("again"))
	if len(u.Written) != 2 || string(u.Written[0].Data) != "query" || u.Written[0].Addr != peer ||
		string(u.Written[1].Data) != "again" || u.Written[1].Addr.String() != "10.0.0.3:53" {
		t.Fatalf("Written = %v", u.Written)
	}
	u.Receive([]byte("answer"), peer)
	if len(p.got) != 1 || p.got[0] != "answer from 10.0.0.2:53" {
		t.Fatalf("received %q", p.got)
	}
	tr.StopListening()
	tr.StopListening()
	if !u.Stopped() || p.stopped != 1 {
		t.Fatalf("stopped %v, StopProtocol calls %d", u.Stopped(), p.stopped)
	}
}

func TestMemoryReactorClockAdvances(t *testing.T) {
	m := twisttest.NewMemoryReactorClock()
	ran := false
	m.CallLater(3e9, func() { ran = true })
	m.Advance(2e9)
	if ran {
		t.Fatal("ran early")
	}
	m.Advance(1e9)
	if !ran || m.Seconds() != 3 {
		t.Fatalf("ran %v at %v", ran, m.Seconds())
	}
}
